"""Intake: the public proposal form and API. Owns proposals until they are submitted."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the worker imports this package too, and needs no Flask
    from flask import Flask


def create_app(test_config: dict[str, object] | None = None) -> Flask:
    from services.intake import api, views
    from services.intake.limits import init_limits
    from services.intake.metrics import gauges
    from shared.i18n import offer_every_language
    from shared.web import create_service_app

    return create_service_app(
        __name__,
        service="intake",
        title="proposals",
        test_config=test_config,
        pages=[views.bp],
        apis=[api.bp],
        staff=False,
        # The form, its pages and the status page are in English and Spanish.
        extensions=[init_limits, offer_every_language],
        gauges=gauges,
    )
