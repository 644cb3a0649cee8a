"""Intake's tasks: relaying its outbox (it consumes no events yet)."""

from services.intake.worker import celery, outbox
from shared.tasks import register_relay

relay_outbox = register_relay(celery, outbox)
