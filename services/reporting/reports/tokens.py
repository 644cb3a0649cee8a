"""The partner's signed, expiring link to one report's form (itsdangerous, the app's
``SECRET_KEY``, older keys in ``SECRET_KEY_FALLBACKS`` still opening; lifetime
``REPORT_LINK_DAYS``).

Partners have no accounts: holding the link is what lets them fill in, save and submit the
report. A refused link is a domain error: an expired one 403, an altered one 404.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from functools import lru_cache

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from shared.config import load_settings
from shared.domain import Forbidden, NotFound

SALT = "reporting.report-link"


class LinkExpired(Forbidden):
    def __init__(self) -> None:
        super().__init__(
            "This link to the report has expired. Ask your agency liaison for a new one."
        )


class LinkInvalid(NotFound):
    def __init__(self) -> None:
        super().__init__(
            "This link to a report is not valid. Check that you copied the whole link."
        )


def _serializer() -> URLSafeTimedSerializer:
    # Signed with SECRET_KEY; a link signed with a key in SECRET_KEY_FALLBACKS still opens.
    return _serializer_for(tuple(load_settings().signing_keys))


@lru_cache(maxsize=4)
def _serializer_for(keys: tuple[str, ...]) -> URLSafeTimedSerializer:
    # One per set of keys: the sweep signs a link for every reminder it sends.
    return URLSafeTimedSerializer(list(keys), salt=SALT)


def make_token(report_id: uuid.UUID) -> str:
    return str(_serializer().dumps(str(report_id)))


def read_token(token: str, *, max_age: timedelta | None = None) -> uuid.UUID:
    """The report a link names; ``LinkExpired`` or ``LinkInvalid``."""
    lifetime = max_age if max_age is not None else load_settings().reporting.link_lifetime
    try:
        value = _serializer().loads(token, max_age=int(lifetime.total_seconds()))
    except SignatureExpired:
        raise LinkExpired from None
    except BadSignature:
        raise LinkInvalid from None
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise LinkInvalid from None


def report_url(report_id: uuid.UUID) -> str:
    """The partner's link to the report's form, behind the gateway."""
    base = load_settings().public_base_url.rstrip("/")
    return f"{base}/reporting/reports/{make_token(report_id)}"
