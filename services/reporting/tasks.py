"""Reporting's tasks: relaying its outbox (report schedules and deadline scans come later)."""

from services.reporting.worker import celery, outbox
from shared.tasks import register_relay

relay_outbox = register_relay(celery, outbox)
