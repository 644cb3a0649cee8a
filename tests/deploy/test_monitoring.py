"""deploy/monitoring/: the alert rules and the dashboard read only metrics the code defines,
each alert is explained in the README, and the rules and every query are valid PromQL that
fires when it should (``promtool``, where it is installed); ``make run``'s processes share one
folder of counts, emptied at start."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from deploy.supervisor import Supervisor

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
MONITORING = ROOT / "deploy" / "monitoring"
METRIC = re.compile(r"\balliance_[a-z0-9_]+\b")
SUFFIXES = {
    "counter": ("_total",),
    "gauge": ("",),
    "histogram": ("_bucket", "_sum", "_count"),
}


def defined_metrics() -> set[str]:
    """Every series name the code defines: its counters and histograms (the registry, once the
    modules that declare them are imported) and every service's database gauges."""
    from prometheus_client import REGISTRY

    import services.reporting.metrics
    import shared.metrics
    from services.intake.metrics import gauges as intake
    from services.notify.metrics import gauges as notify
    from services.reporting.metrics import gauges as reporting
    from services.review.metrics import gauges as review

    assert shared.metrics.HTTP_REQUESTS is not None
    assert services.reporting.metrics.SWEEP_DURATION is not None
    families = [family for family in REGISTRY.collect() if family.name.startswith("alliance_")]
    for gauges in (intake, review, reporting, notify):
        families += list(gauges.describe())
    return {family.name + suffix for family in families for suffix in SUFFIXES[family.type]}


def alert_rules() -> list[dict[str, Any]]:
    document = yaml.safe_load((MONITORING / "alerts.yml").read_text(encoding="utf-8"))
    return [rule for group in document["groups"] for rule in group["rules"]]


def dashboard_queries() -> list[str]:
    dashboard = json.loads((MONITORING / "grafana-dashboard.json").read_text(encoding="utf-8"))
    return [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])]


def test_every_alert_reads_metrics_the_code_defines():
    defined = defined_metrics()
    rules = alert_rules()

    assert len(rules) >= 9
    for rule in rules:
        named = set(METRIC.findall(rule["expr"]))
        assert named, rule["alert"]
        assert named <= defined, (rule["alert"], named - defined)


def test_the_alerts_cover_what_an_operator_must_act_on():
    read = {rule["alert"]: set(METRIC.findall(rule["expr"])) for rule in alert_rules()}

    assert read["AllianceOutboxStuck"] == {"alliance_outbox_oldest_pending_age_seconds"}
    assert "600" in next(r["expr"] for r in alert_rules() if r["alert"] == "AllianceOutboxStuck")
    assert read["AllianceWorkerSilent"] == {"alliance_task_runs_total"}
    assert read["AllianceBeatSilent"] == {"alliance_beat_sent_total"}
    assert read["AllianceMailFailed"] == {"alliance_deliveries"}
    assert read["AllianceMailRetrying"] == {"alliance_deliveries_retrying"}
    assert read["AllianceWebhookEndpointDisabled"] == {"alliance_webhook_endpoints"}
    assert read["AllianceReportsEscalated"] == {"alliance_reports_escalated"}
    # Prometheus's own `up`, for the targets that served the program's metrics.
    assert read["AllianceProcessDown"] == {
        "alliance_http_requests_total",
        "alliance_task_runs_total",
        "alliance_beat_sent_total",
    }


def test_every_alert_is_explained_in_the_readme():
    readme = (MONITORING / "README.md").read_text(encoding="utf-8")
    for rule in alert_rules():
        assert f"### {rule['alert']}\n" in readme, rule["alert"]
        assert rule["annotations"]["runbook"] == (
            f"deploy/monitoring/README.md#{rule['alert'].lower()}"
        )
        assert rule["labels"]["severity"] in {"critical", "warning", "info"}


def test_the_dashboard_queries_only_metrics_the_code_defines():
    defined = defined_metrics()
    queries = dashboard_queries()

    assert len(queries) >= 20
    named = {name for query in queries for name in METRIC.findall(query)}
    assert named <= defined, named - defined
    # Every metric the code defines is on the dashboard somewhere.
    assert {re.sub(r"_(bucket|sum|count)$", "", name) for name in defined} <= {
        re.sub(r"_(bucket|sum|count)$", "", name) for name in named
    }


def test_every_metric_is_listed_in_the_readme():
    readme = (MONITORING / "README.md").read_text(encoding="utf-8")
    listed = set(re.findall(r"^\| `(alliance_[a-z0-9_]+)` \|", readme, re.MULTILINE))
    bases = {re.sub(r"_(bucket|sum|count)$", "", name) for name in defined_metrics()}
    assert listed == bases


# -- promtool, where it is installed (Debian's prometheus package) --------------------------


PROMTOOL = shutil.which("promtool") or ""
needs_promtool = pytest.mark.skipif(not PROMTOOL, reason="promtool is not installed")

# For some alerts: input series, an evaluation time, and the series the alert's expression gives
# then (``for`` is not applied: promtool's expression tests).
EXPRESSION_CASES: dict[str, list[dict[str, Any]]] = {
    "AllianceOutboxStuck": [
        {
            "input_series": [
                {
                    "series": 'alliance_outbox_oldest_pending_age_seconds{service="intake"}',
                    "values": "0+60x20",
                },
                {
                    "series": 'alliance_outbox_oldest_pending_age_seconds{service="review"}',
                    "values": "0x20",
                },
            ],
            "eval_time": "12m",
            "exp_samples": [{"labels": '{service="intake"}', "value": 720}],
        }
    ],
    "AllianceWorkerSilent": [
        {
            "input_series": [
                {
                    "series": f'alliance_task_runs_total{{service="{s}",task="{s}.canary"}}',
                    "values": "0+10x20" if s != "notify" else "0+10x5 50x15",
                }
                for s in ("intake", "review", "reporting", "notify")
            ],
            "eval_time": "15m",
            "exp_samples": [{"labels": '{service="notify"}', "value": 0}],
        },
        {
            "input_series": [
                {
                    "series": f'alliance_task_runs_total{{service="{s}",task="{s}.canary"}}',
                    "values": "0+10x20",
                }
                for s in ("intake", "review", "reporting")
            ],
            "eval_time": "15m",
            "exp_samples": [{"labels": '{task="notify.canary"}', "value": 1}],
        },
    ],
    "AllianceBeatSilent": [
        {
            "input_series": [
                {
                    "series": 'alliance_beat_sent_total{entry="intake-relay-outbox"}',
                    "values": "0+12x5 60x15",
                }
            ],
            "eval_time": "15m",
            "exp_samples": [{"labels": "{}", "value": 0}],
        }
    ],
    "AllianceProcessDown": [
        {
            "input_series": [
                {"series": 'up{job="web",instance="a"}', "values": "1x30 0x30"},
                {"series": 'up{job="web",instance="b"}', "values": "1x30 0x30"},
                {"series": 'up{job="other",instance="c"}', "values": "0x60"},
                {
                    "series": 'alliance_http_requests_total{job="web",instance="a",route="/"}',
                    "values": "1+1x30 _x30",
                },
            ],
            "eval_time": "45m",
            "exp_samples": [{"labels": 'up{job="web",instance="a"}', "value": 0}],
        }
    ],
    "AllianceWebhookEndpointDisabled": [
        {
            "input_series": [
                {
                    "series": f'alliance_webhook_endpoints{{state="{state}",instance="{i}"}}',
                    "values": value,
                }
                for i in ("a", "b")
                for state, value in (("disabled", "1x5"), ("disabled_by_staff", "2x5"))
            ],
            "eval_time": "3m",
            "exp_samples": [{"labels": "{}", "value": 1}],
        }
    ],
    "AllianceMailFailed": [
        {
            "input_series": [
                {
                    "series": 'alliance_deliveries{channel="mail",status="failed"}',
                    "values": "0x30 1x40",
                }
            ],
            "eval_time": "60m",
            "exp_samples": [{"labels": "{}", "value": 1}],
        }
    ],
}


@needs_promtool
def test_the_rules_pass_promtool():
    checked = subprocess.run(
        [PROMTOOL, "check", "rules", str(MONITORING / "alerts.yml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


@needs_promtool
def test_the_alerts_fire_on_the_states_they_name(tmp_path):
    expressions = {rule["alert"]: rule["expr"] for rule in alert_rules()}
    tests = [
        {
            "interval": "1m",
            "input_series": case["input_series"],
            "promql_expr_test": [
                {
                    "expr": expressions[alert],
                    "eval_time": case["eval_time"],
                    "exp_samples": case["exp_samples"],
                }
            ],
        }
        for alert, cases in EXPRESSION_CASES.items()
        for case in cases
    ]
    shutil.copy(MONITORING / "alerts.yml", tmp_path / "alerts.yml")
    (tmp_path / "tests.yml").write_text(
        yaml.safe_dump({"rule_files": ["alerts.yml"], "tests": tests}), encoding="utf-8"
    )
    tested = subprocess.run(
        [PROMTOOL, "test", "rules", str(tmp_path / "tests.yml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert tested.returncode == 0, tested.stdout + tested.stderr


@needs_promtool
def test_every_dashboard_query_is_valid_promql(tmp_path):
    rules = [
        {"record": f"dashboard:query_{n}", "expr": query}
        for n, query in enumerate(dashboard_queries())
    ]
    path = tmp_path / "dashboard-queries.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    checked = subprocess.run(
        [PROMTOOL, "check", "rules", str(path)], capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


# -- make run -------------------------------------------------------------------------------


def test_make_runs_processes_count_into_one_folder_emptied_at_start(tmp_path):
    left = tmp_path / "metrics" / "counter_123.db"
    left.parent.mkdir()
    left.write_bytes(b"an earlier run's")
    env: dict[str, str] = {"METRICS_PORT": "9100"}

    Supervisor(var_dir=tmp_path, port=0, concurrency=1).share_metrics(env)

    assert env["PROMETHEUS_MULTIPROC_DIR"] == str(tmp_path / "metrics")
    assert env["METRICS_PORT"] == "0"  # the web serves them all
    assert list((tmp_path / "metrics").iterdir()) == []
