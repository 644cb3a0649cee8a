import uuid
from datetime import UTC, datetime

import pytest

from shared.config import SERVICES
from shared.events import (
    CATALOG,
    SUBSCRIPTIONS,
    WEBHOOK_EVENT_TYPES,
    MalformedEvent,
    new_event,
    parse_event,
    queue_of,
)
from shared.proposal import ProposalSchema
from shared.testing import example_proposal

pytestmark = pytest.mark.unit


def submitted_payload() -> dict:
    return {
        "proposal_id": uuid.uuid4(),
        "reference": "AP-2026-00001",
        "version": 1,
        "submitted_at": datetime(2026, 11, 23, 15, 0, tzinfo=UTC),
        "status_url": "",
        "proposal": ProposalSchema().load(example_proposal()),
    }


def test_event_round_trips_through_its_message():
    payload = submitted_payload()
    event = new_event("proposal.submitted", producer="intake", payload=payload)

    parsed = parse_event(event.to_message(), expected_type="proposal.submitted")

    assert parsed.event_id == event.event_id
    assert parsed.type == "proposal.submitted"
    assert parsed.version == 1
    assert parsed.producer == "intake"
    assert parsed.occurred_at == event.occurred_at
    assert parsed.payload["proposal_id"] == payload["proposal_id"]
    assert parsed.payload["submitted_at"] == payload["submitted_at"]
    assert parsed.payload["proposal"]["contact"]["email"] == "dana@example.org"


def test_message_is_plain_json():
    import json

    message = new_event(
        "proposal.submitted", producer="intake", payload=submitted_payload()
    ).to_message()

    assert json.loads(json.dumps(message)) == message
    assert set(message) == {"event_id", "type", "version", "occurred_at", "producer", "payload"}


def test_new_event_refuses_an_invalid_payload():
    payload = submitted_payload()
    payload["reference"] = ""
    with pytest.raises(MalformedEvent) as caught:
        new_event("proposal.submitted", producer="intake", payload=payload)
    assert "reference" in caught.value.errors["payload"]


def test_new_event_refuses_unknown_type_and_producer():
    with pytest.raises(ValueError, match="no event"):
        new_event("proposal.vanished", producer="intake", payload={})
    with pytest.raises(ValueError, match="unknown producer"):
        new_event("proposal.submitted", producer="billing", payload=submitted_payload())


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"event_id": "not-a-uuid"}, "event_id"),
        ({"version": "1"}, "version"),
        ({"occurred_at": "2026-11-23T10:00:00"}, "occurred_at"),  # no offset
        ({"producer": "somebody"}, "producer"),
        ({"payload": None}, "payload"),
    ],
)
def test_malformed_envelope_names_the_field(change, path):
    message = new_event(
        "proposal.submitted", producer="intake", payload=submitted_payload()
    ).to_message()
    message.update(change)

    with pytest.raises(MalformedEvent) as caught:
        parse_event(message)

    assert list(caught.value.errors) == [path]


def test_malformed_payload_is_reported_under_payload():
    message = new_event(
        "proposal.submitted", producer="intake", payload=submitted_payload()
    ).to_message()
    del message["payload"]["proposal"]["contact"]

    with pytest.raises(MalformedEvent) as caught:
        parse_event(message)

    assert caught.value.errors == {
        "payload": {"proposal": {"contact": ["This field is required."]}}
    }


def test_unknown_version_and_wrong_type_are_malformed():
    message = new_event(
        "proposal.submitted", producer="intake", payload=submitted_payload()
    ).to_message()
    with pytest.raises(MalformedEvent, match=r"expected 'alliance\.signed'"):
        parse_event(message, expected_type="alliance.signed")
    message["version"] = 99
    with pytest.raises(MalformedEvent, match="unknown event"):
        parse_event(message)
    with pytest.raises(MalformedEvent, match="JSON object"):
        parse_event(["not", "an", "object"])


def test_every_subscription_targets_a_known_event_and_a_service_queue():
    known_types = {event_type for event_type, _ in CATALOG}
    for event_type, tasks in SUBSCRIPTIONS.items():
        assert event_type in known_types
        for task_name in tasks:
            assert queue_of(task_name) in SERVICES


def test_proposal_submitted_reaches_review_notify_and_reporting():
    assert SUBSCRIPTIONS["proposal.submitted"] == (
        "review.proposal_submitted",
        "notify.proposal_submitted",
        "reporting.proposal_submitted",
        "notify.webhooks_proposal_submitted",
    )


def test_notify_welcomes_a_partner_on_the_report_calendar_not_on_the_signing():
    # notify hears of the signing only to send it to webhooks
    assert SUBSCRIPTIONS["alliance.signed"] == (
        "reporting.alliance_signed",
        "notify.webhooks_alliance_signed",
    )
    assert SUBSCRIPTIONS["alliance.reports_scheduled"] == ("notify.reports_scheduled",)
    assert ("alliance.reports_scheduled", 1) in CATALOG


def test_each_webhook_event_type_reaches_its_own_notify_consumer_and_no_other_does():
    from services.notify.webhooks import domain, tasks

    assert set(domain.EVENT_TYPES) == set(WEBHOOK_EVENT_TYPES)
    for event_type, consumers in SUBSCRIPTIONS.items():
        webhook_consumers = [c for c in consumers if c.startswith("notify.webhooks_")]
        if event_type in WEBHOOK_EVENT_TYPES:
            assert webhook_consumers == [f"notify.webhooks_{event_type.replace('.', '_')}"]
            assert tasks.CONSUMERS[event_type].name == webhook_consumers[0]
        else:
            assert webhook_consumers == []


def test_queue_of_refuses_a_task_outside_the_services():
    with pytest.raises(ValueError, match="service name"):
        queue_of("celery.backend_cleanup")


def submitted_report_payload() -> dict:
    return {
        "report_id": uuid.uuid4(),
        "alliance_id": uuid.uuid4(),
        "proposal_id": uuid.uuid4(),
        "reference": "AP-2026-00001",
        "partner_name": "Roofers United",
        "contact": {"name": "Dana Smith", "email": "dana@example.org"},
        "liaison": {"name": "Lee Liaison", "email": "lee@agency.example"},
        "kind": "quarterly",
        "term": 0,
        "period_start": datetime(2026, 4, 1, tzinfo=UTC).date(),
        "period_end": datetime(2026, 6, 30, tzinfo=UTC).date(),
        "due_date": datetime(2026, 7, 30, tzinfo=UTC).date(),
        "version": 1,
        "submitted_at": datetime(2026, 7, 2, 15, 0, tzinfo=UTC),
        "on_time": True,
    }


def test_every_report_event_carries_the_proposal_id():
    report_events = sorted(
        (event_type, version) for event_type, version in CATALOG if event_type.startswith("report.")
    )
    assert report_events == [
        ("report.accepted", 1),
        ("report.due", 1),
        ("report.due_soon", 1),
        ("report.escalated", 1),
        ("report.link_resent", 1),
        ("report.overdue", 1),
        ("report.revision_requested", 1),
        ("report.submitted", 1),
    ]
    for key in report_events:
        assert CATALOG[key]().fields["proposal_id"].required is True


def test_a_report_event_without_its_proposal_id_is_malformed():
    payload = submitted_report_payload()
    message = new_event("report.submitted", producer="reporting", payload=payload).to_message()
    assert parse_event(message).payload["proposal_id"] == payload["proposal_id"]

    del payload["proposal_id"]
    with pytest.raises(MalformedEvent) as caught:
        new_event("report.submitted", producer="reporting", payload=payload)
    assert caught.value.errors == {"payload": {"proposal_id": ["Missing data for required field."]}}
