"""``alliance messages failed|retry`` and ``alliance webhooks failed|retry`` against seeded rows
in notify's database: what failed for good is listed with its last error, and a retry makes it
pending again and queues its attempt (a resent message, a delivery to a disabled endpoint and
one that did not fail are left alone)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from deploy.cli import main as alliance
from services.notify.models import Message
from services.notify.webhooks.models import WebhookDelivery, WebhookEndpoint
from services.notify.worker import database
from shared.db import utcnow
from tests.helpers import queued_tasks
from tests.notify.factories import held_decision_message

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("clean_databases")]

REFUSED = "SMTPRecipientsRefused: 550 5.1.1 <dana@example.org>: no such user"


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(alliance, list(args))
    assert "Traceback" not in result.output, result.output
    return result.exit_code, result.output


def failed_message(**changes) -> Message:
    message = held_decision_message(held=False)
    with database.transaction() as session:
        stored = session.get(Message, message.id)
        stored.status, stored.attempts, stored.last_error = "failed", 5, REFUSED
        for name, value in changes.items():
            setattr(stored, name, value)
    return message


def status_of(message_id: uuid.UUID) -> tuple[str, int]:
    with database.transaction() as session:
        message = session.get(Message, message_id)
        return message.status, message.attempts


def test_messages_failed_lists_each_with_its_last_error_and_retry_sends_it_again(redis_client):
    failing = failed_message()
    resent = failed_message()
    with database.transaction() as session:  # staff resent this one: its copy carries it on
        session.add(
            Message(
                cause=f"resend:{resent.id}:{uuid.uuid4()}",
                template=resent.template,
                to_address=resent.to_address,
                subject=resent.subject,
                text_body="",
                html_body="",
                status="sent",
            )
        )
    code, output = run("messages", "failed")
    assert code == 0, output
    assert output.splitlines()[:3] == [
        "1 message(s) failed for good",
        f"  {failing.id}  to dana@example.org  {failing.subject!r}  AP-2026-00009  "
        f"5 attempt(s)  recorded " + output.splitlines()[1].rsplit("recorded ", 1)[1],
        f"      last error: {REFUSED}",
    ]
    assert "The mail server refused the recipient's address permanently: 550" in output

    code, output = run("messages", "retry", "--id", str(resent.id))
    assert code == 1
    assert f"{resent.id}: not a message that failed for good; left as it is" in output
    code, output = run("messages", "retry", "--all")
    assert code == 0, output
    assert "1 message(s) pending again" in output
    assert status_of(failing.id) == ("pending", 0)
    assert status_of(resent.id) == ("failed", 5)
    assert queued_tasks(redis_client, "notify") == [
        ("notify.deliver_message", {"message_id": str(failing.id)})
    ]
    assert run("messages", "failed")[1].startswith("0 message(s) failed for good")


def test_messages_retry_wants_an_id_or_all():
    code, output = run("messages", "retry")
    assert code == 2
    assert "give --id (once or more) or --all" in output


def endpoint(*, enabled: bool) -> uuid.UUID:
    endpoint_id = uuid.uuid4()
    with database.transaction() as session:
        session.add(
            WebhookEndpoint(
                id=endpoint_id,
                url=f"https://hooks{'' if enabled else '-gone'}.example.org/alliance",
                event_types=["proposal.submitted"],
                sealed_secret="sealed",
                enabled=enabled,
                disabled_reason="" if enabled else "The endpoint answered 410 Gone.",
                disabled_at=None if enabled else utcnow(),
                created_by="coordinator@agency.example",
            )
        )
    return endpoint_id


def delivery(endpoint_id: uuid.UUID, *, status: str = "failed") -> uuid.UUID:
    delivery_id = uuid.uuid4()
    with database.transaction() as session:
        session.add(
            WebhookDelivery(
                id=delivery_id,
                endpoint_id=endpoint_id,
                event_id=uuid.uuid4(),
                event_type="proposal.submitted",
                reference="AP-2026-00042",
                body="{}",
                status=status,
                attempts=6,
                last_status=500,
                last_error="HTTP 500",
                created_at=utcnow() - timedelta(days=1),
            )
        )
    return delivery_id


def delivery_state(delivery_id: uuid.UUID) -> tuple[str, str | None]:
    with database.transaction() as session:
        found = session.scalars(
            select(WebhookDelivery).where(WebhookDelivery.id == delivery_id)
        ).one()
        return found.status, found.replay_requested_by


def test_webhooks_failed_lists_each_and_retry_replays_those_of_enabled_endpoints(redis_client):
    answering, gone = endpoint(enabled=True), endpoint(enabled=False)
    first, second = delivery(answering), delivery(gone)
    delivered = delivery(answering, status="delivered")
    code, output = run("webhooks", "failed")
    assert code == 0, output
    assert output.startswith("2 webhook delivery(ies) failed for good\n")
    assert f"{first}  https://hooks.example.org/alliance\n" in output
    assert (
        f"{second}  https://hooks-gone.example.org/alliance  (endpoint disabled: The endpoint "
        "answered 410 Gone.)" in output
    )
    assert "proposal.submitted" in output
    assert "AP-2026-00042  6 attempt(s)  last answer: HTTP 500" in output

    code, output = run("webhooks", "retry", "--id", str(delivered))
    assert code == 1
    assert f"{delivered}: did not fail for good" in output
    code, output = run("webhooks", "retry", "--id", str(uuid.uuid4()))
    assert code == 1
    assert "nothing was retried: There is no such webhook delivery." in output
    code, output = run("webhooks", "retry", "--all")
    assert code == 0, output
    assert f"{second}: its endpoint is disabled; the Coordinator enables it first" in output
    assert "1 webhook delivery(ies) sent again now" in output
    assert delivery_state(first) == ("pending", "alliance webhooks retry")
    assert delivery_state(second) == ("failed", None)
    assert queued_tasks(redis_client, "notify") == [
        ("notify.deliver_webhook", {"delivery_id": str(first)})
    ]


def test_webhooks_reseal_seals_every_secret_with_the_new_key_keeping_the_secret():
    from services.notify.webhooks import signing

    old, new = "an-old-key-" + "o" * 30, "a-new-key-" + "n" * 30
    secret = signing.new_secret()
    kept = endpoint(enabled=True)
    lost = endpoint(enabled=False)
    with database.transaction() as session:
        session.get(WebhookEndpoint, kept).sealed_secret = signing.seal(secret, key=old)
        session.get(WebhookEndpoint, lost).sealed_secret = signing.seal(secret, key="gone" * 9)
    env = {"WEBHOOK_SECRETS_KEY": new, "WEBHOOK_SECRETS_KEY_FALLBACKS": old}
    result = CliRunner().invoke(alliance, ["webhooks", "reseal"], env=env)
    assert result.exit_code == 1
    assert f"endpoint {lost}: no key opens its secret" in result.output
    assert "1 endpoint secret(s) sealed with the current key" in result.output
    with database.transaction() as session:
        sealed = session.get(WebhookEndpoint, kept).sealed_secret
    assert signing.unseal(sealed, key=new) == secret  # the old key is no longer needed


def test_help_of_each_command():
    for command in (
        ["messages", "failed"],
        ["messages", "retry"],
        ["webhooks", "failed"],
        ["webhooks", "retry"],
        ["webhooks", "reseal"],
    ):
        code, output = run(*command, "--help")
        assert code == 0
        assert " ".join(command) + " [OPTIONS]\n" in output
