"""The review queue: proposals in priority order, their scores, claims, comments and declared
conflicts.

models.py (QueuedProposal, ScoringConfig, QueueAdjustment, ReviewComment; the declared
conflicts are on review's floor, base.py and people.py), scoring.py (the pure scoring rules),
domain.py (every rule: who may claim, assign, comment, move, configure scoring; what a
conflict hides), schemas.py, views.py (/staff/queue, /staff/proposals/<id>, /staff/conflicts,
/staff/scoring), api.py (/api/v1/queue, /progress, /proposals/…, /conflicts,
/scoring-config). This module only wires the part into review's app.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # a worker imports the part too, and needs no Flask
    from flask import Flask

    from shared.api import ServiceApi


def register(app: Flask, rest: ServiceApi) -> None:
    from services.review.queue import api, views

    app.register_blueprint(views.bp)
    rest.register_blueprint(api.bp)
