"""Webhooks: the Coordinator's HTTPS endpoints receive chosen events, signed after the
Standard Webhooks specification (SPEC.md, "Webhooks").

models.py (endpoints, one delivery per event and endpoint, attempts), domain.py (every rule:
who manages, what is sent, retries, disabling, replay), signing.py (secrets, encrypted at rest;
signatures), client.py (the POST that never reaches an internal address), schemas.py,
views.py (/staff/webhooks/...), api.py (/api/v1/webhooks/...), tasks.py (the consumers, the
attempt, beat's sweep ``notify.deliver_webhooks``), config.py (the WEBHOOK_* settings). This
module only wires the part into notify's app.
"""

from __future__ import annotations

from flask import Flask

from shared.api import ServiceApi


def register(app: Flask, rest: ServiceApi) -> None:
    from services.notify.webhooks import api, views

    app.register_blueprint(views.bp)
    rest.register_blueprint(api.bp)
