import pytest

from services.intake.worker import celery
from shared.celery_app import beat_schedule, celery_settings, create_celery, route_by_service
from shared.config import SERVICES


@pytest.mark.unit
def test_only_json_crosses_the_broker():
    settings = celery_settings()
    assert settings["task_serializer"] == "json"
    assert settings["accept_content"] == ["json"]
    assert settings["result_accept_content"] == ["json"]


@pytest.mark.unit
def test_tasks_survive_a_dying_worker():
    settings = celery_settings()
    assert settings["task_acks_late"] is True
    assert settings["task_reject_on_worker_lost"] is True
    assert settings["worker_prefetch_multiplier"] == 1
    assert settings["task_ignore_result"] is True
    assert settings["broker_transport_options"]["socket_timeout"] > 0
    assert settings["broker_transport_options"]["socket_connect_timeout"] > 0


@pytest.mark.unit
def test_one_queue_per_service_and_routing_by_task_name():
    settings = celery_settings()
    assert [q.name for q in settings["task_queues"]] == [
        *SERVICES,
        *(f"{service}.canary" for service in SERVICES),
    ]
    for service in SERVICES:
        assert route_by_service(f"{service}.anything", (), {}, {}) == {"queue": service}
        assert route_by_service(f"{service}.canary", (), {}, {}) == {"queue": f"{service}.canary"}
    assert route_by_service("celery.chord_unlock", (), {}, {}) is None


@pytest.mark.unit
def test_beat_relays_every_outbox_on_its_own_queue():
    schedule = beat_schedule(5, 10)
    for service in SERVICES:
        entry = schedule[f"{service}-relay-outbox"]
        assert entry["task"] == f"{service}.relay_outbox"
        assert entry["options"]["queue"] == service


@pytest.mark.unit
def test_service_app_defaults_to_its_queue():
    app = create_celery("review")
    assert app.conf.task_default_queue == "review"
    assert app.conf.task_serializer == "json"


@pytest.mark.unit
def test_beat_and_command_line_apps_have_a_declared_default_queue():
    # The default queue of a non-service app was "celery", which is not declared: beat then
    # applied none of its schedule ("Couldn't apply scheduled task ...: 'celery'").
    app = create_celery("beat")
    declared = [q.name for q in celery_settings()["task_queues"]]
    assert app.conf.task_default_queue in declared
    assert app.amqp.default_queue.name == app.conf.task_default_queue


@pytest.mark.unit
def test_running_tasks_end_before_redis_hands_them_out_again(monkeypatch):
    monkeypatch.setenv("CELERY_VISIBILITY_TIMEOUT", "20")
    settings = celery_settings()
    assert settings["broker_transport_options"]["visibility_timeout"] == 20
    assert settings["task_time_limit"] == 16
    assert settings["task_soft_time_limit"] < settings["task_time_limit"]
    # Finish a running task when the broker connection drops; the handlers are idempotent.
    assert settings["worker_cancel_long_running_tasks_on_connection_loss"] is False


@pytest.mark.unit
def test_beat_uses_the_leader_scheduler():
    assert celery_settings()["beat_scheduler"] == "shared.beat:LeaderScheduler"


@pytest.mark.unit
def test_a_task_that_fails_unexpectedly_is_not_acknowledged():
    assert celery_settings()["task_acks_on_failure_or_timeout"] is False


@pytest.mark.integration
@pytest.mark.usefixtures("clean_databases")
def test_each_service_app_registers_only_its_own_tasks():
    import services.intake.tasks
    import services.notify.tasks  # noqa: F401

    own = sorted(name for name in celery.tasks if not name.startswith("celery."))
    assert own == [
        "intake.canary",
        "intake.changes_requested",
        "intake.expire_drafts",
        "intake.message_sent",
        "intake.proposal_approved",
        "intake.proposal_declined",
        "intake.relay_outbox",
    ]
