"""Log lines (shared/logs.py): one JSON object a line in production, naming the service, the
process, the task, the event and the proposal or alliance, and nothing a library attached; the
human line of `make run` as it always was."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import uuid
from collections.abc import Iterator

import pytest

from deploy.gunicorn_conf import GUNICORN_FORMAT, logging_config
from shared.celery_app import create_celery
from shared.config import read_settings
from shared.logs import log_context, log_handler, set_process_service
from shared.tasks import ServiceTask
from tests.production import production_environment

pytestmark = pytest.mark.unit


@pytest.fixture
def lines() -> Iterator[tuple[io.StringIO, io.StringIO]]:
    """What the logger ``test.logs`` writes, as the JSON and the human handler write it."""
    written = (io.StringIO(), io.StringIO())
    logger = logging.getLogger("test.logs")
    handlers = [log_handler("json", written[0]), log_handler("human", written[1])]
    for handler in handlers:
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    set_process_service("intake")
    try:
        yield written
    finally:
        for handler in handlers:
            logger.removeHandler(handler)
        set_process_service("-")


def test_a_json_line_names_the_process_and_only_the_ids_known(lines):
    json_lines, _ = lines
    logging.getLogger("test.logs").warning("nothing to do for %s", "now")

    [line] = json_lines.getvalue().splitlines()
    entry = json.loads(line)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", entry.pop("time"))
    assert entry == {
        "level": "WARNING",
        "service": "intake",
        "process": os.getpid(),
        "logger": "test.logs",
        "message": "nothing to do for now",
    }


def test_a_json_line_leaves_out_what_a_library_attached_to_the_record(lines):
    json_lines, _ = lines
    # Celery attaches a task's arguments (an event's contact) to its log records this way.
    contact = {"kwargs": {"event": {"payload": {"contact": {"email": "dana@example.org"}}}}}
    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("test.logs").exception("it failed", extra={"data": contact})

    entry = json.loads(json_lines.getvalue())
    assert "dana@example.org" not in json_lines.getvalue()
    assert sorted(entry) == [
        "exc_info",
        "level",
        "logger",
        "message",
        "process",
        "service",
        "time",
    ]
    assert entry["exc_info"].endswith("ValueError: boom")


def test_a_tasks_lines_carry_its_task_event_and_proposal_ids(lines):
    json_lines, human_lines = lines
    app = create_celery("intake")

    @app.task(name="intake.test_logs", base=ServiceTask, shared=False)
    def log_something(*, event: dict) -> None:
        logging.getLogger("test.logs").info("handled it")

    event_id, proposal_id = str(uuid.uuid4()), str(uuid.uuid4())
    event = {
        "event_id": event_id,
        "type": "proposal.submitted",
        "payload": {"proposal_id": proposal_id},
    }
    log_something.apply(kwargs={"event": event}, task_id="task-1")
    logging.getLogger("test.logs").info("after it")

    during, after = (json.loads(line) for line in json_lines.getvalue().splitlines())
    assert during["message"] == "handled it"
    assert (during["task_id"], during["event_id"], during["proposal_id"]) == (
        "task-1",
        event_id,
        proposal_id,
    )
    assert "alliance_id" not in during
    assert not {"task_id", "event_id", "proposal_id"} & set(after)
    human = human_lines.getvalue().splitlines()
    assert f"[task=task-1 event={event_id}] test.logs: handled it" in human[0]
    assert "[task=- event=-] test.logs: after it" in human[1]


def test_an_id_that_is_no_uuid_is_not_written(lines):
    json_lines, _ = lines
    app = create_celery("intake")

    @app.task(name="intake.test_logs_malformed", base=ServiceTask, shared=False)
    def log_something(*, event: object) -> None:
        logging.getLogger("test.logs").info("handled it")

    log_something.apply(kwargs={"event": {"payload": {"alliance_id": "dana@example.org"}}})

    entry = json.loads(json_lines.getvalue())
    assert "alliance_id" not in entry
    assert "dana@example.org" not in json_lines.getvalue()


def test_the_human_line_is_the_one_make_run_always_wrote(lines):
    _, human_lines = lines
    with log_context(task_id="t-7", event_id="e-9", alliance_id=str(uuid.uuid4())):
        logging.getLogger("test.logs").info("processed it")

    assert re.fullmatch(
        r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} INFO \[\d+\] \[task=t-7 event=e-9\] "
        r"test\.logs: processed it\n",
        human_lines.getvalue(),
    )


def test_the_format_is_human_under_make_run_and_json_in_production():
    production = production_environment(os.environ)
    assert read_settings({}).log_format == "human"
    assert read_settings({"LOG_FORMAT": "json"}).log_format == "json"
    assert read_settings(production).log_format == "json"
    assert read_settings({**production, "LOG_FORMAT": "human"}).log_format == "human"
    assert (read_settings({}).metrics_port, read_settings(production).metrics_port) == (0, 9100)


def test_gunicorn_keeps_its_own_lines_in_the_human_format_and_writes_json_otherwise():
    human = logging_config("human", "INFO")
    assert human["formatters"]["gunicorn"]["format"] == GUNICORN_FORMAT
    assert human["handlers"]["app"]["log_format"] == "human"
    json_config = logging_config("json", "WARNING")
    assert {name: h["()"] for name, h in json_config["handlers"].items()} == {
        "app": "shared.logs.log_handler",
        "error": "shared.logs.log_handler",
        "access": "shared.logs.log_handler",
    }
    assert json_config["root"] == {"level": "WARNING", "handlers": ["app"]}


def test_a_json_access_line_keeps_no_signed_links_token():
    from deploy.gunicorn_conf import HideTokens

    token = "IjcyNWZlNzVmLTdmMzEtNDkwMi1hMGMy.axaUJQ.g8qN6XcoW66JSvLtjRLy0TficS8"
    proposal_id = str(uuid.uuid4())
    record = logging.LogRecord(
        "gunicorn.access", logging.INFO, "", 0, "%(m)s %(U)s %(s)s", None, None
    )
    record.args = {"m": "GET", "U": f"/status/{token}/edit", "s": "200"}
    api = logging.LogRecord("gunicorn.access", logging.INFO, "", 0, "%(U)s", None, None)
    api.args = {"U": f"/review/api/v1/proposals/{proposal_id}"}

    assert HideTokens().filter(record)
    assert HideTokens().filter(api)

    assert record.getMessage() == "GET /status/<token>/edit 200"
    assert api.getMessage() == f"/review/api/v1/proposals/{proposal_id}"  # an id stays
    assert logging_config("json", "INFO")["handlers"]["access"]["filters"] == ["hide_tokens"]


def test_a_json_line_keeps_no_signed_links_token_either(lines):
    json_lines, _ = lines
    token = "IjcyNWZlNzVmLTdmMzEtNDkwMi1hMGMy.axaUJQ.g8qN6XcoW66JSvLtjRLy0TficS8"
    logger = logging.getLogger("test.logs")
    logger.info("refused GET /status/%s: 404", token)
    logger.info(
        "published notify.webhooks_proposal_submitted to services.notify.webhooks_proposal_x"
    )

    refused, published = (
        json.loads(line)["message"] for line in json_lines.getvalue().splitlines()
    )
    assert refused == "refused GET /status/<token>: 404"
    assert "<token>" not in published
