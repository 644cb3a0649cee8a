"""Review's Celery application (``celery -A services.review.worker worker -Q review``)."""

from services.review.base import OutboxEvent, ProcessedEvent, RejectedEvent
from shared.celery_app import create_celery
from shared.db import Database
from shared.outbox import Outbox
from shared.worker import install_worker_hooks

database = Database("review")
celery = create_celery(
    "review",
    database=database,
    processed_model=ProcessedEvent,
    rejected_model=RejectedEvent,
    flask_app_factory="services.review:create_app",
    include=["services.review.tasks"],
)
outbox = Outbox(model=OutboxEvent, database=database, celery_app=celery, producer="review")
install_worker_hooks(celery)
