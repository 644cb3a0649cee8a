"""Every webhook rule: who may manage endpoints (the Coordinator), what a delivery sends, when
it is tried again, when an endpoint is disabled, and replays.

The Coordinator (and the operator's ``alliance webhooks failed|retry``, acting as the top
office's Coordinator) lists the deliveries that failed for good and replays them
(``failed_deliveries``, ``retry_failed``), and seals the endpoints' secrets again with the
current key after a key rotation (``reseal_secrets``).

Staff-facing functions take the acting staff member (``shared.domain.Acting``) and raise the
typed errors of shared/domain.py; the delivery functions are the worker's (no one acts).
Nothing here commits: the web request and the tasks own their transactions.
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from services.notify.delivery import domain as machine
from services.notify.delivery.domain import Outcome, RetryPolicy
from services.notify.messages import links
from services.notify.messages.domain import webhook_disabled
from services.notify.models import Message
from services.notify.webhooks import addresses, client, signing
from services.notify.webhooks.models import (
    STAFF_DISABLED_PREFIX,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from shared.agency import AgencyProfile
from shared.config import Settings, WebhookSettings
from shared.domain import Acting, Conflict, Forbidden, Invalid, NotFound
from shared.events import WEBHOOK_EVENT_TYPES, Event

log = logging.getLogger(__name__)

# What the staff page calls each event type an endpoint may receive, in its groups; the types
# themselves are shared/events.py WEBHOOK_EVENT_TYPES (webhooks/tests/test_rules.py checks
# that every one has its label here, and nothing else).
EVENT_GROUPS: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    (
        "Proposal submitted",
        (
            ("proposal.submitted", "A proposal was submitted"),
            ("proposal.resubmitted", "A proposal was resubmitted after changes"),
        ),
    ),
    (
        "Proposal decided",
        (
            ("proposal.approved", "A proposal was approved"),
            ("proposal.declined", "A proposal was declined"),
            ("proposal.changes_requested", "Changes were requested to a proposal"),
        ),
    ),
    ("Alliance signed", (("alliance.signed", "An alliance agreement was signed"),)),
    (
        "Alliance renewed or ended",
        (
            ("alliance.renewed", "An alliance was renewed for a new term"),
            ("alliance.concluded", "An alliance was concluded"),
            ("alliance.terminated", "An alliance was terminated with 30 days' notice"),
        ),
    ),
    ("Report submitted", (("report.submitted", "A partner submitted a report"),)),
    (
        "Report reviewed",
        (
            ("report.accepted", "A report was accepted"),
            ("report.revision_requested", "A revision of a report was requested"),
        ),
    ),
    (
        "Report overdue",
        (
            ("report.overdue", "A report became overdue"),
            ("report.escalated", "An overdue report was escalated to the Coordinator"),
        ),
    ),
)
EVENT_TYPES: tuple[str, ...] = WEBHOOK_EVENT_TYPES

MANAGERS = ("coordinator",)
REFUSED = "Only the Coordinator manages webhooks."
NO_SUCH_ENDPOINT = "There is no such webhook endpoint."
NO_SUCH_DELIVERY = "There is no such webhook delivery."
DELIVERIES_SHOWN = 100


def _require_manager(acting: Acting) -> None:
    if not acting.has_any_role(*MANAGERS):
        raise Forbidden(REFUSED)


# -- endpoints (the Coordinator) ---------------------------------------------------------------


def list_endpoints(session: Session, acting: Acting) -> list[WebhookEndpoint]:
    _require_manager(acting)
    return list(session.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.created_at)))


def get_endpoint(session: Session, acting: Acting, endpoint_id: uuid.UUID) -> WebhookEndpoint:
    _require_manager(acting)
    endpoint = session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None:
        raise NotFound(NO_SUCH_ENDPOINT)
    return endpoint


def _checked(
    url: str, event_types: list[str], settings: WebhookSettings, *, look_up: bool = True
) -> list[str]:
    """The event types in catalog order; Invalid naming each bad field. The URL goes through
    delivery's own address check (addresses.py), its host looked up unless ``look_up`` is
    False (an unchanged stored URL: no look-up, so a description change never waits on DNS)."""
    errors: dict[str, list[str]] = {}
    why = addresses.registration_refusal(url, allowed_hosts=settings.allowed_hosts, look_up=look_up)
    if why:
        errors["url"] = [why]
    unknown = [t for t in event_types if t not in EVENT_TYPES]
    if unknown:
        errors["event_types"] = [f"Unknown event type: {', '.join(unknown)}."]
    elif not event_types:
        errors["event_types"] = ["Choose at least one event."]
    if errors:
        raise Invalid(errors)
    return [t for t in EVENT_TYPES if t in event_types]  # catalog order, no repeats


@dataclass(frozen=True)
class WithSecret:
    """An endpoint and its secret, in the one answer that shows the secret."""

    endpoint: WebhookEndpoint
    secret: str


def create_endpoint(
    session: Session,
    acting: Acting,
    *,
    url: str,
    event_types: list[str],
    description: str = "",
    settings: WebhookSettings,
    now: datetime,
) -> WithSecret:
    _require_manager(acting)
    chosen = _checked(url, event_types, settings)
    secret = signing.new_secret()
    endpoint = WebhookEndpoint(
        id=uuid.uuid4(),
        url=url,
        description=description,
        event_types=chosen,
        sealed_secret=signing.seal(secret, key=settings.secrets_key),
        enabled=True,
        disabled_reason="",
        secret_rotated_at=now,
        created_by=acting.email,
        created_by_name=acting.name[:200] or None,
        created_at=now,
    )
    session.add(endpoint)
    session.flush()
    log.info("webhook endpoint %s registered by %s", endpoint.id, acting.email)
    return WithSecret(endpoint, secret)


def update_endpoint(
    session: Session,
    acting: Acting,
    endpoint_id: uuid.UUID,
    *,
    settings: WebhookSettings,
    url: str | None = None,
    event_types: list[str] | None = None,
    description: str | None = None,
) -> WebhookEndpoint:
    endpoint = get_endpoint(session, acting, endpoint_id)
    chosen = _checked(
        url if url is not None else endpoint.url,
        event_types if event_types is not None else list(endpoint.event_types),
        settings,
        look_up=url is not None and url != endpoint.url,
    )
    if url is not None:
        endpoint.url = url
    endpoint.event_types = chosen
    if description is not None:
        endpoint.description = description
    session.flush()
    return endpoint


def rotate_secret(
    session: Session,
    acting: Acting,
    endpoint_id: uuid.UUID,
    *,
    settings: WebhookSettings,
    now: datetime,
) -> WithSecret:
    """A new secret; deliveries signed from now on (retries too) use it."""
    endpoint = get_endpoint(session, acting, endpoint_id)
    secret = signing.new_secret()
    endpoint.sealed_secret = signing.seal(secret, key=settings.secrets_key)
    endpoint.secret_rotated_at = now
    session.flush()
    log.info("webhook endpoint %s secret rotated by %s", endpoint.id, acting.email)
    return WithSecret(endpoint, secret)


@dataclass(frozen=True)
class Resealed:
    """What ``reseal_secrets`` did: the endpoints whose secret is now sealed with the current
    key, and those whose secret no key opens (they need a new secret: ``rotate_secret``)."""

    resealed: list[uuid.UUID]
    unreadable: list[uuid.UUID]


def reseal_secrets(session: Session, acting: Acting, *, settings: WebhookSettings) -> Resealed:
    """Seal every endpoint's secret again with the current key (``WEBHOOK_SECRETS_KEY``, or
    the one derived from ``SECRET_KEY``), the secrets themselves unchanged, so that the old
    keys can leave the fallbacks without any receiver changing anything."""
    _require_manager(acting)
    resealed, unreadable = [], []
    for endpoint in session.scalars(
        select(WebhookEndpoint).order_by(WebhookEndpoint.created_at).with_for_update()
    ):
        try:
            endpoint.sealed_secret = signing.reseal(
                endpoint.sealed_secret,
                key=settings.secrets_key,
                fallbacks=settings.secrets_key_fallbacks,
            )
        except signing.SecretUnreadable:
            unreadable.append(endpoint.id)
            continue
        resealed.append(endpoint.id)
    session.flush()
    return Resealed(resealed, unreadable)


def set_enabled(
    session: Session, acting: Acting, endpoint_id: uuid.UUID, *, enabled: bool, now: datetime
) -> WebhookEndpoint:
    """Disable (its waiting deliveries wait) or enable (they go, the failure clock restarts)."""
    endpoint = get_endpoint(session, acting, endpoint_id)
    if enabled and not endpoint.enabled:
        endpoint.enabled = True
        endpoint.disabled_reason = ""
        endpoint.disabled_at = None
        endpoint.failing_since = None
        # What waited while it was disabled goes now.
        session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.endpoint_id == endpoint.id, WebhookDelivery.status == "pending")
            .values(next_attempt_at=now, queued_until=None)
        )
    elif not enabled and endpoint.enabled:
        endpoint.enabled = False
        # The reason is shown as it is: the person by name (the address only if none is known).
        endpoint.disabled_reason = f"{STAFF_DISABLED_PREFIX}{acting.name or acting.email}."
        endpoint.disabled_at = now
    session.flush()
    return endpoint


def delete_endpoint(session: Session, acting: Acting, endpoint_id: uuid.UUID) -> None:
    """The endpoint, its deliveries and their attempts go."""
    endpoint = get_endpoint(session, acting, endpoint_id)
    session.delete(endpoint)
    session.flush()
    log.info("webhook endpoint %s deleted by %s", endpoint_id, acting.email)


def endpoint_deliveries(
    session: Session, acting: Acting, endpoint_id: uuid.UUID
) -> list[WebhookDelivery]:
    """The endpoint's newest deliveries (at most DELIVERIES_SHOWN), newest first."""
    endpoint = get_endpoint(session, acting, endpoint_id)
    return list(
        session.scalars(
            select(WebhookDelivery)
            .where(WebhookDelivery.endpoint_id == endpoint.id)
            .order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id)
            .limit(DELIVERIES_SHOWN)
        )
    )


@dataclass(frozen=True)
class DeliveryRecord:
    """A delivery with its attempts, oldest first."""

    delivery: WebhookDelivery
    endpoint: WebhookEndpoint
    attempts: list[WebhookAttempt]


def get_delivery(session: Session, acting: Acting, delivery_id: uuid.UUID) -> DeliveryRecord:
    _require_manager(acting)
    delivery = session.get(WebhookDelivery, delivery_id)
    if delivery is None:
        raise NotFound(NO_SUCH_DELIVERY)
    endpoint = session.get(WebhookEndpoint, delivery.endpoint_id)
    assert endpoint is not None
    attempts = list(
        session.scalars(
            select(WebhookAttempt)
            .where(WebhookAttempt.delivery_id == delivery.id)
            .order_by(WebhookAttempt.number, WebhookAttempt.started_at)
        )
    )
    return DeliveryRecord(delivery, endpoint, attempts)


def replay(
    session: Session, acting: Acting, delivery_id: uuid.UUID, *, now: datetime
) -> WebhookDelivery:
    """Send a delivery again now: a new attempt, recorded with who asked. Attempts keep
    counting, so a failed replay is retried only while the schedule has pauses left. The
    caller queues the attempt after the commit."""
    record = get_delivery(session, acting, delivery_id)
    delivery, endpoint = record.delivery, record.endpoint
    if not endpoint.enabled:
        raise Conflict("Enable the endpoint before replaying its deliveries.")
    if delivery.status == "sending":
        raise Conflict("An attempt at this delivery is under way; wait for its outcome.")
    delivery.status = "pending"
    delivery.next_attempt_at = now
    delivery.queued_until = None
    delivery.replay_requested_by = acting.email
    delivery.replay_requested_by_name = acting.name[:200] or None
    session.flush()
    return delivery


def failed_deliveries(
    session: Session, acting: Acting, *, limit: int = DELIVERIES_SHOWN
) -> list[tuple[WebhookDelivery, WebhookEndpoint]]:
    """Deliveries that failed for good, with their endpoints, the oldest first."""
    _require_manager(acting)
    return [
        (delivery, endpoint)
        for delivery, endpoint in session.execute(
            select(WebhookDelivery, WebhookEndpoint)
            .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
            .where(WebhookDelivery.status == "failed")
            .order_by(WebhookDelivery.created_at, WebhookDelivery.id)
            .limit(limit)
        ).tuples()
    ]


@dataclass(frozen=True)
class Retried:
    """What ``retry_failed`` did: the deliveries replayed, and those it left because their
    endpoint is disabled (enable it first) or because they had not failed."""

    replayed: list[uuid.UUID]
    endpoint_disabled: list[uuid.UUID]
    not_failed: list[uuid.UUID]


def retry_failed(
    session: Session,
    acting: Acting,
    *,
    delivery_ids: list[uuid.UUID] | None = None,
    now: datetime,
) -> Retried:
    """Replay (``replay``) deliveries that failed for good: ``delivery_ids``, or every failed
    one when None. A delivery whose endpoint is disabled is left (enabling the endpoint is
    the Coordinator's decision), one that did not fail too; ``NotFound`` for an unknown id.
    The caller queues the attempts after the commit."""
    _require_manager(acting)
    if delivery_ids is None:
        delivery_ids = list(
            session.scalars(
                select(WebhookDelivery.id)
                .where(WebhookDelivery.status == "failed")
                .order_by(WebhookDelivery.created_at, WebhookDelivery.id)
            )
        )
    replayed, disabled, not_failed = [], [], []
    for delivery_id in delivery_ids:
        record = get_delivery(session, acting, delivery_id)
        if record.delivery.status != "failed":
            not_failed.append(delivery_id)
        elif not record.endpoint.enabled:
            disabled.append(delivery_id)
        else:
            replay(session, acting, delivery_id, now=now)
            replayed.append(delivery_id)
    return Retried(replayed, disabled, not_failed)


# -- recording deliveries for events (notify's consumers) ------------------------------------


def webhook_data(value: Any) -> Any:
    """The event's payload as a webhook's ``data``: signed links (``*_url``: a partner's
    report form, an applicant's status page) are capabilities and stay in the agency
    (services/notify/messages/links.py, which also hides them in the message log)."""
    return links.without_signed_fields(value)


def webhook_body(event: Event) -> str:
    """SPEC's body: ``{"id", "type", "occurred_at", "data"}``."""
    message = event.to_message()
    return json.dumps(
        {
            "id": message["event_id"],
            "type": message["type"],
            "occurred_at": message["occurred_at"],
            "data": webhook_data(message["payload"]),
        },
        separators=(",", ":"),
        ensure_ascii=False,
    )


def record_deliveries(session: Session, *, event: Event, now: datetime) -> list[uuid.UUID]:
    """One delivery per enabled endpoint subscribed to the event's type; a redelivered event
    adds none (unique on event and endpoint). Returns the new deliveries' ids."""
    endpoint_ids = list(
        session.scalars(
            select(WebhookEndpoint.id).where(
                WebhookEndpoint.enabled.is_(True),
                WebhookEndpoint.event_types.contains([event.type]),
            )
        )
    )
    if not endpoint_ids:
        return []
    body = webhook_body(event)
    created = session.scalars(
        insert(WebhookDelivery)
        .values(
            [
                {
                    "id": uuid.uuid4(),
                    "endpoint_id": endpoint_id,
                    "event_id": event.event_id,
                    "event_type": event.type,
                    "reference": str(event.payload.get("reference") or "")[:40],
                    "body": body,
                    "status": "pending",
                    "attempts": 0,
                    "next_attempt_at": now,
                    "last_error": "",
                    "created_at": now,
                }
                for endpoint_id in endpoint_ids
            ]
        )
        .on_conflict_do_nothing(index_elements=["event_id", "endpoint_id"])
        .returning(WebhookDelivery.id)
    )
    return list(created)


def deliveries_about(
    session: Session, acting: Acting, *, reference: str
) -> list[tuple[WebhookDelivery, WebhookEndpoint]]:
    """The webhook deliveries of events about one proposal and its alliance (its reference),
    oldest first, for the message log: only for who manages webhooks (the Coordinator), and
    none about an organization they declared a conflict with (as its messages are hidden)."""
    if not reference or not acting.has_any_role(*MANAGERS):
        return []
    if acting.conflicts:
        hidden = session.scalars(
            select(Message.id)
            .where(Message.reference == reference, Message.organization_key.in_(acting.conflicts))
            .limit(1)
        ).first()
        if hidden is not None:
            return []
    rows = session.execute(
        select(WebhookDelivery, WebhookEndpoint)
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .where(WebhookDelivery.reference == reference)
        .order_by(WebhookDelivery.created_at, WebhookDelivery.id)
        .limit(200)
    )
    return [(delivery, endpoint) for delivery, endpoint in rows.tuples()]


# -- delivering (the worker) ------------------------------------------------------------------


@dataclass(frozen=True)
class Claimed:
    """What one attempt needs, read in the claiming transaction."""

    delivery_id: uuid.UUID
    endpoint_id: uuid.UUID
    attempt: int
    url: str
    sealed_secret: str
    message_id: str
    body: str
    replayed_by: str | None
    replayed_by_name: str | None = None


def delivery_state(session: Session, *, delivery_id: uuid.UUID, now: datetime) -> str:
    """ "due", or why not: "gone", "disabled", "busy" (sending), "pending" (not yet due),
    "delivered", "failed"."""
    row = session.execute(
        select(WebhookDelivery.status, WebhookDelivery.next_attempt_at, WebhookEndpoint.enabled)
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .where(WebhookDelivery.id == delivery_id)
    ).first()
    if row is None:
        return "gone"
    status, next_attempt_at, enabled = row
    if status == "sending":
        return "busy"
    if status != "pending":
        return str(status)
    if not enabled:
        return "disabled"
    return "due" if next_attempt_at <= now else "pending"


def claim(session: Session, *, delivery_id: uuid.UUID, now: datetime) -> Claimed | None:
    """Mark a due delivery ``sending`` and count the attempt (``machine.start_attempt``);
    None if it is not due, taken by another worker, or its endpoint is disabled."""
    enabled = WebhookDelivery.endpoint_id.in_(
        select(WebhookEndpoint.id).where(WebhookEndpoint.enabled.is_(True))
    )
    claimed = machine.start_attempt(
        WebhookDelivery, session, delivery_id, now=now, eligible=enabled
    )
    if claimed is None:
        return None
    endpoint = session.get(WebhookEndpoint, claimed.endpoint_id)
    if endpoint is None:
        return None
    replayed_by, replayed_by_name = claimed.replay_requested_by, claimed.replay_requested_by_name
    claimed.queued_until = None
    claimed.replay_requested_by = None
    claimed.replay_requested_by_name = None
    session.flush()
    return Claimed(
        delivery_id=claimed.id,
        endpoint_id=endpoint.id,
        attempt=claimed.attempts,
        url=endpoint.url,
        sealed_secret=endpoint.sealed_secret,
        message_id=str(claimed.event_id),
        body=claimed.body,
        replayed_by=replayed_by,
        replayed_by_name=replayed_by_name,
    )


def retry_after(header: str | None, *, now: datetime, cap: timedelta) -> timedelta:
    """An answer's ``Retry-After`` (seconds or an HTTP date) as a pause, at most ``cap``."""
    if not header:
        return timedelta(0)
    header = header.strip()
    if header.isascii() and header.isdigit():  # "²".isdigit() is True, int("²") fails
        pause = timedelta(seconds=int(header[:12]))
    else:
        try:
            when = parsedate_to_datetime(header)
        except (TypeError, ValueError, IndexError):
            return timedelta(0)
        if when.tzinfo is None:
            return timedelta(0)
        pause = when - now
    return max(timedelta(0), min(pause, cap))


@dataclass(frozen=True)
class Context:
    """What an attempt and its outcome need besides the database: the settings (the webhook
    settings among them) and the agency's profile, for the Coordinator's alert."""

    settings: Settings
    profile: AgencyProfile

    @property
    def webhooks(self) -> WebhookSettings:
        return self.settings.webhooks


def record_attempt(
    session: Session,
    *,
    claimed: Claimed,
    answer: client.Answer,
    started_at: datetime,
    now: datetime,
    context: Context,
) -> Outcome:
    """Keep the attempt and decide what follows: 2xx delivered; 410 disables the endpoint;
    anything else (3xx included: redirects are never followed) is tried again on the
    schedule, lengthened by ``Retry-After``, until it is spent; an endpoint whose every
    delivery failed for ``disable_after`` is disabled. The Coordinator hears of a disabling."""
    # The endpoint first, then the delivery: the order staff changes take too.
    endpoint = session.scalars(
        select(WebhookEndpoint).where(WebhookEndpoint.id == claimed.endpoint_id).with_for_update()
    ).first()
    delivery = session.scalars(
        select(WebhookDelivery).where(WebhookDelivery.id == claimed.delivery_id).with_for_update()
    ).first()
    if delivery is None or endpoint is None:
        return Outcome(status="gone")  # deleted with its endpoint meanwhile
    session.add(
        WebhookAttempt(
            id=uuid.uuid4(),
            delivery_id=claimed.delivery_id,
            number=claimed.attempt,
            started_at=started_at,
            duration_ms=answer.duration_ms,
            status_code=answer.status,
            response_excerpt=answer.excerpt,
            error=answer.error or _status_error(answer.status),
            replayed_by=claimed.replayed_by,
            replayed_by_name=claimed.replayed_by_name,
        )
    )
    if not machine.still_sending(delivery, claimed.attempt):
        # The sweep took it back (this attempt outlived the lease): the attempt is on
        # record, the delivery's state is the newer attempt's.
        return Outcome(status=delivery.status)
    delivery.sending_since = None
    delivery.last_status = answer.status
    delivery.last_error = answer.error or _status_error(answer.status)
    if answer.status is not None and 200 <= answer.status < 300:
        delivery.status = "delivered"
        delivery.delivered_at = now
        endpoint.failing_since = None
        endpoint.last_success_at = now
        session.flush()
        return Outcome(status="delivered")
    alerts: list[uuid.UUID] = []
    if answer.status == 410:
        delivery.status = "failed"
        alerts += _disable(
            session,
            endpoint,
            reason="The endpoint answered 410 Gone: it asked for no more deliveries.",
            now=now,
            context=context,
        )
        return Outcome(status="failed", follow_up=tuple(alerts))
    if endpoint.failing_since is None:
        endpoint.failing_since = now
    elif now - endpoint.failing_since >= context.webhooks.disable_after:
        days = context.webhooks.disable_after.days
        alerts += _disable(
            session,
            endpoint,
            reason=f"Every delivery failed for {days} day{'s' if days != 1 else ''}.",
            now=now,
            context=context,
        )
    outcome = machine.retry_or_fail(
        delivery,
        policy=RetryPolicy(context.webhooks.retry_schedule),
        now=now,
        at_least=retry_after(answer.retry_after, now=now, cap=context.webhooks.max_retry_after),
    )
    if outcome.status == "failed":
        log.warning(
            "webhook delivery %s failed after %d attempts: %s",
            delivery.id,
            delivery.attempts,
            delivery.last_error,
        )
    session.flush()
    return Outcome(
        status=outcome.status, next_attempt_at=outcome.next_attempt_at, follow_up=tuple(alerts)
    )


def _status_error(status: int | None) -> str:
    if status is None or 200 <= status < 300:
        return ""
    if 300 <= status < 400:
        return f"HTTP {status}: a redirect, not followed (give the final URL)"
    return f"HTTP {status}"


def _disable(
    session: Session, endpoint: WebhookEndpoint, *, reason: str, now: datetime, context: Context
) -> list[uuid.UUID]:
    if not endpoint.enabled:
        return []
    endpoint.enabled = False
    endpoint.disabled_reason = reason
    endpoint.disabled_at = now
    session.flush()
    log.warning("webhook endpoint %s disabled: %s", endpoint.id, reason)
    return webhook_disabled(
        session,
        endpoint_id=endpoint.id,
        url=endpoint.url,
        description=endpoint.description,
        reason=reason,
        disabled_at=now,
        settings=context.settings,
        profile=context.profile,
    )


def recover_stalled(session: Session, *, now: datetime, context: Context) -> list[uuid.UUID]:
    """Deliveries ``sending`` past the lease (their worker died): the attempt is recorded as
    unknown and the delivery follows the retry schedule. Returns alerts to deliver."""
    stalled = machine.stalled(
        WebhookDelivery, session, lease=context.webhooks.sending_lease, now=now
    )
    alerts: list[uuid.UUID] = []
    for delivery in stalled:
        assert delivery.sending_since is not None
        claimed = Claimed(
            delivery_id=delivery.id,
            endpoint_id=delivery.endpoint_id,
            attempt=delivery.attempts,
            url="",
            sealed_secret="",
            message_id=str(delivery.event_id),
            body="",
            replayed_by=None,
        )
        unknown = client.Answer(
            None, None, "", "the worker stopped during the attempt; its outcome is unknown", 0
        )
        outcome = record_attempt(
            session,
            claimed=claimed,
            answer=unknown,
            started_at=delivery.sending_since,
            now=now,
            context=context,
        )
        alerts += outcome.follow_up
    return alerts


def queue_due(
    session: Session, *, now: datetime, requeue_after: timedelta, limit: int
) -> list[uuid.UUID]:
    """The due deliveries of enabled endpoints not queued lately, marked queued
    (``machine.mark_due``)."""
    enabled = WebhookDelivery.endpoint_id.in_(
        select(WebhookEndpoint.id).where(WebhookEndpoint.enabled.is_(True))
    )
    return machine.mark_due(
        WebhookDelivery,
        session,
        now=now,
        requeue_after=requeue_after,
        limit=limit,
        eligible=enabled,
    )


def forget_queued(session: Session, *, delivery_ids: list[uuid.UUID]) -> None:
    machine.unmark_queued(WebhookDelivery, session, item_ids=delivery_ids)
