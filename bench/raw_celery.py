"""The raw parts' Celery app for the baselines: the product's own Celery settings
(shared/celery_app.py: json, acks_late, prefetch 1, the same transport options) and tasks that
do nothing but the raw work: send one e-mail with smtplib.

    celery -A bench.raw_celery worker -Q bench.raw --pool solo
"""

from __future__ import annotations

import smtplib
from email.message import EmailMessage

from celery import Celery
from kombu import Queue

from shared.celery_app import celery_settings

QUEUE = "bench.raw"

app = Celery("bench.raw", set_as_current=False)
app.config_from_object(celery_settings())
app.conf.task_queues = [Queue(QUEUE)]
app.conf.task_routes = None
app.conf.task_default_queue = QUEUE
app.conf.beat_schedule = {}


@app.task(name="bench.raw.mail", ignore_result=True)
def mail(to: str, port: int) -> None:
    """One e-mail over a new SMTP connection, as a task that sends one message would."""
    message = EmailMessage()
    message["From"] = "alliances@agency.example"
    message["To"] = to
    message["Subject"] = "We received your alliance proposal"
    message.set_content("Thank you. " * 60)
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
        smtp.send_message(message)
