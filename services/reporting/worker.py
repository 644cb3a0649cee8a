"""Reporting's Celery application (``celery -A services.reporting.worker worker -Q reporting``)."""

from services.reporting.base import OutboxEvent, ProcessedEvent, RejectedEvent
from shared.celery_app import create_celery
from shared.db import Database
from shared.outbox import Outbox
from shared.worker import install_worker_hooks

database = Database("reporting")
celery = create_celery(
    "reporting",
    database=database,
    processed_model=ProcessedEvent,
    rejected_model=RejectedEvent,
    flask_app_factory="services.reporting:create_app",
    include=["services.reporting.tasks"],
)
outbox = Outbox(model=OutboxEvent, database=database, celery_app=celery, producer="reporting")
install_worker_hooks(celery)
