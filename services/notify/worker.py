"""Notify's Celery application (``celery -A services.notify.worker worker -Q notify``)."""

import logging

from services.notify.models import OutboxEvent, ProcessedEvent, RejectedEvent
from shared.celery_app import create_celery
from shared.config import coordinator_email_warning, load_settings
from shared.db import Database
from shared.outbox import Outbox
from shared.worker import install_worker_hooks

database = Database("notify")
celery = create_celery(
    "notify",
    database=database,
    processed_model=ProcessedEvent,
    rejected_model=RejectedEvent,
    flask_app_factory="services.notify:create_app",
    include=["services.notify.tasks", "services.notify.webhooks.tasks"],
)
outbox = Outbox(model=OutboxEvent, database=database, celery_app=celery, producer="notify")
install_worker_hooks(celery)
# Every setting is checked at start-up (a bad NOTIFY_RETRY_SCHEDULE or lease stops the process).
# The placeholder COORDINATOR_EMAIL gets the Coordinator's mail while no Coordinator is known.
if placeholder := coordinator_email_warning(load_settings()):
    logging.getLogger(__name__).warning(placeholder)
