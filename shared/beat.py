"""The one Celery beat of the system (``celery -A shared.beat beat``).

Beat only sends task names on a schedule (``beat_schedule`` in shared/celery_app.py); each
name routes to its service's queue, so beat imports no service.
"""

from shared.celery_app import create_celery
from shared.logs import configure_logging

celery = create_celery("beat")


def _setup_logging(**kwargs: object) -> None:
    configure_logging()


from celery import signals  # noqa: E402

signals.setup_logging.connect(_setup_logging, weak=False)
