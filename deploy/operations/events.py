"""``alliance outbox show|replay SERVICE`` and ``alliance inbox rejected list|requeue SERVICE``:
the events a service has not published yet, and those its consumers refused.

Every consumer is idempotent (it records the event ids it processed in the same transaction
as their effect), so sending an event again is always safe: one already processed does nothing
the second time. The rules are shared/outbox.py's ``outbox_state`` and ``replay``, and
shared/inbox.py's ``rejected_events`` and ``requeue_rejected``.
"""

from __future__ import annotations

import json
import sys
import uuid
from datetime import UTC, datetime
from typing import Any

import click

from deploy.operations.common import (
    SERVICE,
    Operation,
    ago,
    broker_errors,
    broker_unreachable,
    one_line,
    reaching,
    service_worker,
    when,
)
from shared.config import load_settings

IDEMPOTENT = (
    "Sending an event again is safe: every consumer records the events it processed, and one "
    "it already has does nothing the second time."
)
PUBLISH_CHUNK = 200  # rows per publication, as the relay takes them


def _instant(ctx: click.Context, param: click.Parameter, value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not an ISO-8601 instant (e.g. 2026-03-01T09:00:00-05:00)"
        ) from None
    if moment.tzinfo is None:
        raise click.BadParameter(f"{value!r} has no time zone offset: give one (Z, +00:00, -05:00)")
    return moment.astimezone(UTC)


# -- the outbox -------------------------------------------------------------------------------


@click.group(cls=click.Group)
def outbox() -> None:
    """A service's outbox: the events it has stored and not yet published."""


@outbox.command(cls=Operation)
@click.argument("service", type=SERVICE, metavar="SERVICE")
@click.option("--limit", default=20, show_default=True, help="Pending rows to list.")
def show(service: str, limit: int) -> None:
    """Count SERVICE's pending events (and those whose publication failed), say how old the
    oldest is, and list the oldest pending ones.

    The relay (the beat) publishes pending events every few seconds: one pending for more than
    10 minutes means the broker or the beat is in trouble (docs/operations.md)."""
    from shared.outbox import outbox_state

    worker = service_worker(service)
    now = datetime.now(UTC)
    try:
        with reaching(service), worker.database.transaction() as session:
            state = outbox_state(session, worker.outbox.model, limit=limit)
            rows = [
                (row.id, row.event_id, row.type, row.created_at, row.attempts, row.last_error)
                for row in state.waiting
            ]
    finally:
        worker.database.dispose()
    relay = load_settings().outbox_relay_seconds
    click.echo(
        f"{service} outbox: {state.pending} pending ({state.failed} failed to publish), "
        f"oldest pending {ago(state.oldest_pending_at, now)}"
        + (f" (since {when(state.oldest_pending_at)})" if state.oldest_pending_at else "")
        + f"; {state.published} published; the relay runs every {relay:g} s"
    )
    for row_id, event_id, event_type, created_at, attempts, last_error in rows:
        line = (
            f"  #{row_id}  {event_type}  {event_id}  created {when(created_at)} "
            f"({ago(created_at, now)} ago)  attempts {attempts}"
        )
        click.echo(line + (f"\n      last error: {one_line(last_error)}" if last_error else ""))
    if state.pending > len(rows):
        click.echo(f"  ... and {state.pending - len(rows)} more (--limit)")


@outbox.command(cls=Operation)
@click.argument("service", type=SERVICE, metavar="SERVICE")
@click.option("--event-id", type=click.UUID, help="The event to publish again.")
@click.option("--all-failed", is_flag=True, help="Every event whose publication failed.")
@click.option(
    "--since",
    callback=_instant,
    metavar="ISO-8601",
    help="Every event published since this instant (after a restore: a little before the "
    "backup's time, for what the broker held then).",
)
def replay(
    service: str, event_id: uuid.UUID | None, all_failed: bool, since: datetime | None
) -> None:
    """Make events of SERVICE's outbox pending again and publish them now (the relay does, if
    the broker does not answer now).

    Safe: every consumer is idempotent, so an event it already processed does nothing the
    second time. To send an event a consumer refused, use `alliance inbox rejected requeue`."""
    from shared.outbox import replay as replay_rows

    if sum((event_id is not None, all_failed, since is not None)) != 1:
        raise click.UsageError("give one of --event-id, --all-failed or --since")
    worker = service_worker(service)
    try:
        with reaching(service):
            with worker.database.transaction() as session:
                done = replay_rows(
                    session,
                    worker.outbox.model,
                    event_id=event_id,
                    failed=all_failed,
                    published_since=since,
                )
            if not done.ids:
                if event_id is not None:
                    raise click.ClickException(f"{service}'s outbox has no event {event_id}")
                what = "failed to publish" if all_failed else f"was published since {since}"
                click.echo(f"[alliance] {service} outbox: no event {what}; nothing to replay")
                return
            parts = []
            if done.again:
                parts.append(f"{len(done.again)} published event(s) made pending again")
            if done.waiting:
                parts.append(f"{len(done.waiting)} pending event(s) whose publication failed")
            click.echo(f"[alliance] {service} outbox: {' and '.join(parts)}. {IDEMPOTENT}")
            published = _publish(worker, done.ids)
    finally:
        worker.database.dispose()
    left = len(done.ids) - published
    click.echo(
        f"[alliance] published {published} now"
        + (
            f"; {left} left pending: the broker did not take them (see `alliance outbox show "
            f"{service}`), and the relay keeps trying"
            if left
            else ""
        )
    )


def _publish(worker: Any, ids: list[int]) -> int:
    """Publish the rows ``ids`` now, in the relay's batches; stops at the first the broker
    refuses (the relay tries again)."""
    published = 0
    chunks = [ids[start : start + PUBLISH_CHUNK] for start in range(0, len(ids), PUBLISH_CHUNK)]
    with click.progressbar(chunks, label="[alliance] publishing", file=sys.stderr) as bar:
        for chunk in bar:
            sent = worker.outbox.publish_pending(ids=chunk, limit=len(chunk), retry=False)
            published += sent
            if sent < len(chunk):
                break
    return published


# -- the inbox's rejected events ----------------------------------------------------------------


@click.group(cls=click.Group)
def inbox() -> None:
    """A service's inbox: the events its consumers refused."""


@inbox.group(cls=click.Group)
def rejected() -> None:
    """Events a consumer refused (malformed, or its handler failed for good), kept for a
    person to inspect and send again."""


@rejected.command("list", cls=Operation)
@click.argument("service", type=SERVICE, metavar="SERVICE")
@click.option("--limit", default=50, show_default=True, help="Events to list.")
def list_rejected(service: str, limit: int) -> None:
    """List the events SERVICE's consumers refused, the oldest first: who refused it, why,
    and the error."""
    from shared.inbox import rejected_events

    worker = service_worker(service)
    try:
        with reaching(service), worker.database.transaction() as session:
            count, found = rejected_events(session, worker.celery.rejected_model, limit=limit)
            rows = [
                (r.id, r.received_at, r.consumer, r.event_id, r.reason, r.errors) for r in found
            ]
    finally:
        worker.database.dispose()
    click.echo(f"{service} inbox: {count} rejected event(s)")
    for row_id, received_at, consumer, event_id, reason, errors in rows:
        click.echo(
            f"  #{row_id}  {when(received_at)}  {consumer}  event {event_id or '(no id)'}  "
            f"{reason}\n      {one_line(json.dumps(errors, ensure_ascii=False))}"
        )
    if count > len(rows):
        click.echo(f"  ... and {count - len(rows)} more (--limit)")
    if count:
        click.echo(
            f"Once the cause is fixed: alliance inbox rejected requeue {service} "
            "--event-id ID (or --all)"
        )


@rejected.command(cls=Operation)
@click.argument("service", type=SERVICE, metavar="SERVICE")
@click.option("--event-id", help="The event to send to its consumer again.")
@click.option("--all", "every", is_flag=True, help="Every rejected event.")
def requeue(service: str, event_id: str | None, every: bool) -> None:
    """Send refused events to their consumers again, and remove them from the list (one
    refused again is kept again).

    Safe: every consumer is idempotent, so an event it processed meanwhile does nothing."""
    from shared.events import queue_of
    from shared.inbox import requeue_rejected

    if (event_id is not None) == every:
        raise click.UsageError("give one of --event-id or --all")
    worker = service_worker(service)

    def send(consumer: str, body: Any) -> None:
        worker.celery.send_task(
            consumer,
            kwargs={"event": body},
            queue=queue_of(consumer),
            retry=True,
            retry_policy={"max_retries": 2, "interval_start": 0.2, "interval_step": 0.5},
        )

    try:
        with reaching(service):
            try:
                with worker.database.transaction() as session:
                    done = requeue_rejected(
                        session, worker.celery.rejected_model, send=send, event_id=event_id
                    )
            except ValueError as err:  # a consumer name that no queue takes
                raise click.ClickException(f"nothing was requeued: {err}") from None
            except broker_errors() as err:
                raise click.ClickException(
                    f"nothing was requeued: {broker_unreachable(err).message}"
                ) from None
    finally:
        worker.database.dispose()
    if not done:
        if event_id is not None:
            raise click.ClickException(f"{service}'s inbox has no rejected event {event_id}")
        click.echo(f"[alliance] {service} inbox: no rejected event; nothing to requeue")
        return
    for item in done:
        click.echo(f"  {item.event_id or '(no id)'} -> {item.consumer}")
    click.echo(
        f"[alliance] {service}: {len(done)} event(s) sent to their consumers again. {IDEMPOTENT}"
    )
