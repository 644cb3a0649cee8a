"""The baseline of the intake benchmark (bench/intake.py): the raw parts of a submission.

``POST /api/v1/proposals`` validates the body with marshmallow (shared/proposal.py
``ProposalSchema``, the same rules of shape the real endpoint applies) and inserts one row with
SQLAlchemy, in its own database (``MINIMAL_DATABASE_URL``, its table made by ``create_table``
before the server starts). Served by gunicorn with the same settings as intake:

    MINIMAL_DATABASE_URL=... gunicorn --config python:deploy.gunicorn_conf \\
        "bench.minimal_intake:create_app()"
"""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime
from typing import Any

from flask import Flask, jsonify, request
from marshmallow import ValidationError
from sqlalchemy import DateTime, Engine, String, Uuid, create_engine
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from shared.db import sqlalchemy_url
from shared.proposal import ProposalSchema


class Base(DeclarativeBase):
    pass


class MinimalProposal(Base):
    __tablename__ = "minimal_proposals"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    organization_name: Mapped[str] = mapped_column(String(200))
    data: Mapped[dict[str, Any]] = mapped_column(JSONB)
    submitted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


def engine_for(url: str) -> Engine:
    # The pool intake's Database has (shared/db.py).
    return create_engine(sqlalchemy_url(url), pool_size=5, max_overflow=5)


def create_table(url: str) -> None:
    engine = engine_for(url)
    try:
        Base.metadata.create_all(engine)
    finally:
        engine.dispose()


def create_app() -> Flask:
    app = Flask(__name__)
    schema = ProposalSchema()
    engine = engine_for(os.environ["MINIMAL_DATABASE_URL"])

    @app.post("/api/v1/proposals")
    def submit() -> Any:
        try:
            data = schema.load(request.get_json())
        except ValidationError as err:
            return jsonify({"errors": err.messages}), 422
        proposal_id = uuid.uuid4()
        proposal = MinimalProposal(
            id=proposal_id,
            organization_name=data["organization"]["name"],
            data=data,
            submitted_at=datetime.now(UTC),
        )
        with Session(engine) as session:
            session.add(proposal)
            session.commit()
        return jsonify({"id": str(proposal_id)}), 201

    return app
