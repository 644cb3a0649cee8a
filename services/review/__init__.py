"""Review: the priority queue, decisions and agreements (staff side).

One sub-package per part of the domain (queue, decisions, alliances, roundtables,
directory, staff), each with the same modules: models, domain (the rules, taking the acting
staff member), schemas, views (HTML), api (JSON). docs/architecture.md lists them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the worker imports this package too, and needs no Flask
    from flask import Flask


def create_app(test_config: dict[str, object] | None = None) -> Flask:
    from services.review import (
        alliances,
        decisions,
        directory,
        imports,
        queue,
        roundtables,
        staff,
    )
    from services.review.metrics import gauges
    from services.review.people import conflicted_keys
    from services.review.worker import database
    from shared.i18n import offer_every_language
    from shared.web import create_service_app

    return create_service_app(
        __name__,
        service="review",
        title="review (staff)",
        test_config=test_config,
        parts=[staff, queue, decisions, alliances, imports, roundtables, directory],
        database=database,
        conflicts=conflicted_keys,
        # The public directory is in English and Spanish; staff pages stay in English.
        extensions=[offer_every_language],
        gauges=gauges,
    )
