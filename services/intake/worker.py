"""Intake's Celery application (``celery -A services.intake.worker worker -Q intake``)."""

from services.intake.models import OutboxEvent, ProcessedEvent, RejectedEvent
from shared.celery_app import create_celery
from shared.db import Database
from shared.outbox import Outbox
from shared.worker import install_worker_hooks

database = Database("intake")
celery = create_celery(
    "intake",
    database=database,
    processed_model=ProcessedEvent,
    rejected_model=RejectedEvent,
    flask_app_factory="services.intake:create_app",
    include=["services.intake.tasks"],
)
outbox = Outbox(model=OutboxEvent, database=database, celery_app=celery, producer="intake")
install_worker_hooks(celery)
