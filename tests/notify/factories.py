"""Builders of notify's things: a held decision message, and the delivery of queued mail."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.orm import Session

from services.notify.messages import domain as messages
from services.notify.models import Message
from services.notify.worker import database as notify_database
from tests.shared.factories import using

# -- notify ---------------------------------------------------------------------------------------


def held_decision_message(
    proposal_id: uuid.UUID | None = None, *, held: bool = True, session: Session | None = None
) -> Message:
    """A decision's e-mail to the applicant in notify (Roofers declined), recorded as notify
    records one: held for staff to release unless ``held=False`` (then pending)."""
    with using(notify_database, session) as writing:
        message_id = messages.record_message(
            writing,
            cause=f"test:{uuid.uuid4()}",
            template="decision_declined",
            to_address="dana@example.org",
            proposal_id=proposal_id or uuid.uuid4(),
            reference="AP-2026-00009",
            held=held,
            context={
                "agency": "MIOSHA",
                "reference": "AP-2026-00009",
                "contact_name": "Dana",
                "organization_name": "Roofers",
                "reason": "Not this year.",
                "status_url": "",
            },
        )
        assert message_id is not None
        message = writing.get(Message, message_id)
        assert message is not None
        return message


# -- notify --------------------------------------------------------------------------------


def deliver_queued_mail(redis_client: Any, smtp_server: Any, monkeypatch: Any) -> list[str]:
    """Run the deliveries notify's consumers queued, against ``smtp_server``, as its worker
    would; each delivery's outcome."""
    import services.notify.tasks
    from tests.helpers import queued_tasks

    monkeypatch.setenv("SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("SMTP_PORT", str(smtp_server.port))
    queued = [kwargs for _name, kwargs in queued_tasks(redis_client, "notify")]
    redis_client.delete("notify")
    return [services.notify.tasks.deliver_message(**kwargs) for kwargs in queued]
