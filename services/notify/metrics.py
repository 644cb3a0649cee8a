"""Notify's gauges, read from its database when Prometheus scrapes (shared/metrics.py): every
delivery by channel and status, the ones waiting for another attempt, and the webhook
endpoints by state, beside its outbox and rejected events."""

from services.notify.webhooks.models import STAFF_DISABLED_PREFIX
from shared.metrics import DatabaseGauges, GaugeFamily

# Every status a delivery can be in (services/notify/delivery/domain.py) is listed, at 0 when
# none is in it, so that an alert sees the first one arrive.
SQL = """
SELECT 'alliance_deliveries', 'mail', COALESCE(known.status, counted.status),
       COALESCE(counted.n, 0)::float8
  FROM (VALUES ('held'), ('pending'), ('sending'), ('sent'), ('failed')) AS known (status)
  FULL JOIN (SELECT status, count(*) AS n FROM messages GROUP BY status) AS counted
    ON counted.status = known.status
UNION ALL
SELECT 'alliance_deliveries', 'webhook', COALESCE(known.status, counted.status),
       COALESCE(counted.n, 0)::float8
  FROM (VALUES ('pending'), ('sending'), ('delivered'), ('failed')) AS known (status)
  FULL JOIN (SELECT status, count(*) AS n FROM webhook_deliveries GROUP BY status) AS counted
    ON counted.status = known.status
UNION ALL
SELECT 'alliance_deliveries_retrying', 'mail', '', count(*)::float8
  FROM messages WHERE status = 'pending' AND attempts > 0
UNION ALL
SELECT 'alliance_deliveries_retrying', 'webhook', '', count(*)::float8
  FROM webhook_deliveries WHERE status = 'pending' AND attempts > 0
UNION ALL
SELECT 'alliance_webhook_endpoints', states.state, '',
       (SELECT count(*) FROM webhook_endpoints AS e
         WHERE CASE
                 WHEN e.enabled AND e.failing_since IS NULL THEN 'ok'
                 WHEN e.enabled THEN 'failing'
                 WHEN starts_with(e.disabled_reason, :staff_disabled) THEN 'disabled_by_staff'
                 ELSE 'disabled'
               END = states.state)::float8
  FROM (VALUES ('ok'), ('failing'), ('disabled'), ('disabled_by_staff')) AS states (state)
"""

gauges = DatabaseGauges(
    "notify",
    families=(
        GaugeFamily(
            "alliance_deliveries",
            "Deliveries by channel (mail: each e-mail; webhook: each event for each endpoint) "
            "and status; failed: every attempt of the retry schedule failed.",
            ("channel", "status"),
        ),
        GaugeFamily(
            "alliance_deliveries_retrying",
            "Deliveries waiting for another attempt after one failed, by channel.",
            ("channel",),
        ),
        GaugeFamily(
            "alliance_webhook_endpoints",
            "Webhook endpoints by state: ok, failing (enabled, every attempt failing for a "
            "while), disabled (by the system: a 410 Gone or days of failures) and "
            "disabled_by_staff.",
            ("state",),
        ),
    ),
    sql=SQL,
    params={"staff_disabled": STAFF_DISABLED_PREFIX},
)
