"""``alliance messages failed|retry`` and ``alliance webhooks failed|retry``: notify's e-mails
and webhook deliveries that failed for good, and sending them once more.

The operator acts as the top office's Coordinator; the rules are notify's own
(services/notify/log/domain.py ``failed_messages``, ``retry_failed``;
services/notify/webhooks/domain.py ``failed_deliveries``, ``retry_failed``).
"""

from __future__ import annotations

import uuid

import click

from deploy.operations.common import Operation, one_line, operator, reaching, when


def _choose(ids: tuple[uuid.UUID, ...], every: bool) -> list[uuid.UUID] | None:
    if bool(ids) == every:
        raise click.UsageError("give --id (once or more) or --all")
    return None if every else list(ids)


# -- e-mail -------------------------------------------------------------------------------------


@click.group(cls=click.Group)
def messages() -> None:
    """Notify's e-mails that failed for good."""


@messages.command("failed", cls=Operation)
@click.option("--limit", default=200, show_default=True, help="Messages to list.")
def failed_messages(limit: int) -> None:
    """List the e-mails that failed for good (every attempt spent, or refused for good by the
    mail server), the oldest first: to whom, the subject, the proposal's reference, the
    attempts and the last error."""
    from services.notify.log import domain as log
    from services.notify.worker import database

    try:
        with reaching("notify"), database.transaction() as session:
            found = [
                (
                    m.id,
                    m.to_address,
                    m.subject,
                    m.reference,
                    m.attempts,
                    m.created_at,
                    m.last_error,
                    log.failure_reason(m),
                )
                for m in log.failed_messages(session, operator("messages failed"), limit=limit)
            ]
    finally:
        database.dispose()
    click.echo(f"{len(found)} message(s) failed for good")
    for message_id, to, subject, reference, attempts, created_at, error, reason in found:
        click.echo(
            f"  {message_id}  to {to}  {subject!r}  {reference or '-'}  {attempts} attempt(s)"
            f"  recorded {when(created_at)}\n      last error: {one_line(error) or '-'}"
            + (f"\n      {one_line(reason)}" if reason else "")
        )
    if found:
        click.echo("Once the cause is fixed: alliance messages retry --id ID (or --all)")


@messages.command("retry", cls=Operation)
@click.option("--id", "ids", type=click.UUID, multiple=True, help="A message to send again.")
@click.option("--all", "every", is_flag=True, help="Every message that failed for good.")
def retry_messages(ids: tuple[uuid.UUID, ...], every: bool) -> None:
    """Send e-mails that failed for good once more, with the whole retry schedule again. Each
    still goes out at most once (its cause is its own); a message resent by staff is left
    alone (its copy carries it on)."""
    from services.notify.log import domain as log
    from services.notify.worker import database

    chosen = _choose(ids, every)
    try:
        with reaching("notify"), database.transaction() as session:
            retried = log.retry_failed(session, operator("messages retry"), message_ids=chosen)
    finally:
        database.dispose()
    passed = [i for i in chosen or [] if i not in retried]
    for message_id in passed:
        click.echo(f"  {message_id}: not a message that failed for good; left as it is", err=True)
    click.echo(
        f"[alliance] {len(retried)} message(s) pending again: notify's worker sends them now"
        " (and the beat's sweep, should the queue have lost them)"
    )
    if chosen and not retried:
        raise click.ClickException("no message was retried")


# -- webhooks -----------------------------------------------------------------------------------


@click.group(cls=click.Group)
def webhooks() -> None:
    """Notify's webhook deliveries that failed for good."""


@webhooks.command("failed", cls=Operation)
@click.option("--limit", default=100, show_default=True, help="Deliveries to list.")
def failed_webhooks(limit: int) -> None:
    """List the webhook deliveries that failed for good, the oldest first: the endpoint (and
    whether it is disabled), the event, the reference, the attempts and the last answer."""
    from services.notify.webhooks import domain
    from services.notify.worker import database

    try:
        with reaching("notify"), database.transaction() as session:
            found = [
                (
                    d.id,
                    e.url,
                    e.enabled,
                    e.disabled_reason,
                    d.event_type,
                    d.event_id,
                    d.reference,
                    d.attempts,
                    d.last_error,
                )
                for d, e in domain.failed_deliveries(
                    session, operator("webhooks failed"), limit=limit
                )
            ]
    finally:
        database.dispose()
    click.echo(f"{len(found)} webhook delivery(ies) failed for good")
    for delivery_id, url, enabled, why, event_type, event_id, reference, attempts, error in found:
        state = "" if enabled else f"  (endpoint disabled: {one_line(why, 100)})"
        click.echo(
            f"  {delivery_id}  {url}{state}\n      {event_type} {event_id}  {reference or '-'}"
            f"  {attempts} attempt(s)  last answer: {one_line(error) or '-'}"
        )
    if found:
        click.echo(
            "Once the endpoint answers: alliance webhooks retry --id ID (or --all); a disabled "
            "endpoint is enabled again by the Coordinator on its webhooks page first"
        )


@webhooks.command("retry", cls=Operation)
@click.option("--id", "ids", type=click.UUID, multiple=True, help="A delivery to send again.")
@click.option("--all", "every", is_flag=True, help="Every delivery that failed for good.")
def retry_webhooks(ids: tuple[uuid.UUID, ...], every: bool) -> None:
    """Send webhook deliveries that failed for good once more: one new attempt each, signed
    with the same id (a receiver that has it already ignores it). Deliveries to a disabled
    endpoint are left until the Coordinator enables it."""
    from services.notify.delivery.queue import deliver_webhooks_after_commit
    from services.notify.webhooks import domain
    from services.notify.worker import database
    from shared.db import utcnow
    from shared.domain import NotFound

    chosen = _choose(ids, every)
    try:
        with reaching("notify"), database.transaction() as session:
            done = domain.retry_failed(
                session, operator("webhooks retry"), delivery_ids=chosen, now=utcnow()
            )
            deliver_webhooks_after_commit(session, done.replayed)
    except NotFound as err:
        raise click.ClickException(f"nothing was retried: {err}") from None
    finally:
        database.dispose()
    for delivery_id in done.endpoint_disabled:
        click.echo(
            f"  {delivery_id}: its endpoint is disabled; the Coordinator enables it first",
            err=True,
        )
    for delivery_id in done.not_failed:
        click.echo(f"  {delivery_id}: did not fail for good; left as it is", err=True)
    click.echo(f"[alliance] {len(done.replayed)} webhook delivery(ies) sent again now")
    if chosen and not done.replayed:
        raise click.ClickException("no delivery was retried")


@webhooks.command("reseal", cls=Operation)
def reseal_webhook_secrets() -> None:
    """Seal every webhook endpoint's secret again with the current key, after
    WEBHOOK_SECRETS_KEY (or SECRET_KEY, while it derives the key) changed and the old key
    went into the fallbacks: the secrets stay the same, so no receiver changes anything, and
    the old key can then leave the fallbacks (docs/operations.md, "Rotating the secrets")."""
    from services.notify.webhooks import domain
    from services.notify.worker import database
    from shared.config import load_settings

    try:
        with reaching("notify"), database.transaction() as session:
            done = domain.reseal_secrets(
                session, operator("webhooks reseal"), settings=load_settings().webhooks
            )
    finally:
        database.dispose()
    for endpoint_id in done.unreadable:
        click.echo(
            f"  endpoint {endpoint_id}: no key opens its secret; the Coordinator gives it a new "
            "one (Rotate secret) and its receiver takes it",
            err=True,
        )
    click.echo(
        f"[alliance] {len(done.resealed)} endpoint secret(s) sealed with the current key"
        + ("" if done.unreadable else "; the old key may now leave the fallbacks")
    )
    if done.unreadable:
        raise click.ClickException(f"{len(done.unreadable)} secret(s) could not be opened")
