"""Webhooks: the Coordinator's HTTPS endpoints receive chosen events, signed after the
Standard Webhooks specification (SPEC.md, "Webhooks").

models.py (endpoints, one delivery per event and endpoint, attempts), domain.py (every rule:
who manages, what is sent, what an answer means, disabling, replay; the attempts' states and
retries are services/notify/delivery/domain.py's), signing.py (secrets, encrypted at rest;
signatures), addresses.py and client.py (the POST that never reaches an internal address),
attempts.py (one attempt), schemas.py, views.py (/staff/webhooks/...), api.py
(/api/v1/webhooks/...), tasks.py (the consumers, the attempt, beat's sweep
``notify.deliver_webhooks``). The WEBHOOK_* settings are ``Settings.webhooks``. This module
only wires the part into notify's app.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # a worker imports the part too, and needs no Flask
    from flask import Flask

    from shared.api import ServiceApi


def register(app: Flask, rest: ServiceApi) -> None:
    from services.notify.webhooks import api, views

    app.register_blueprint(views.bp)
    rest.register_blueprint(api.bp)
