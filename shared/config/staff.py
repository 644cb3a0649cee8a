"""The settings of staff sign-in, sessions and passwords."""

from __future__ import annotations

from shared.config.declarations import Section, Setting
from shared.config.parsers import (
    RATE_LIMIT,
    one_of,
    url,
    whole,
)

STAFF_SIGN_IN = Section("Staff sign-in", "Staff sessions live in Redis; see shared/staff_auth.py.")
STAFF_IDLE_MINUTES = STAFF_SIGN_IN.add(
    Setting(
        "STAFF_IDLE_MINUTES",
        whole("minutes", 1),
        30,
        "a staff session ends after this long without a request",
    )
)
STAFF_SESSION_HOURS = STAFF_SIGN_IN.add(
    Setting(
        "STAFF_SESSION_HOURS",
        whole("hours", 1),
        12,
        "a staff session ends this long after signing in, whatever the activity",
    )
)
STAFF_SIGN_IN_LIMIT = STAFF_SIGN_IN.add(
    Setting(
        "STAFF_SIGN_IN_LIMIT",
        RATE_LIMIT,
        "10 per minute;100 per hour",
        "failed sign-ins allowed per client address",
    )
)
STAFF_SIGN_IN_EMAIL_LIMIT = STAFF_SIGN_IN.add(
    Setting(
        "STAFF_SIGN_IN_EMAIL_LIMIT",
        RATE_LIMIT,
        "5 per minute;20 per hour",
        "failed sign-ins allowed per e-mail address tried",
    )
)
STAFF_SIGN_IN_URL = STAFF_SIGN_IN.add(
    Setting(
        "ALLIANCE_STAFF_SIGN_IN_URL",
        url("http", "https", or_path=True),
        "",
        "where services other than review send staff to sign in",
        default_doc="`$PUBLIC_BASE_URL/review/staff/sign-in`",
    )
)
STAFF_PASSWORD_HASH = STAFF_SIGN_IN.add(
    Setting(
        "STAFF_PASSWORD_HASH",
        one_of("strong", "fast"),
        "strong",
        "the cost of hashing staff passwords (Argon2id): `strong` (RFC 9106's low-memory "
        "profile) or `fast` (the least Argon2 allows, for tests; refused in production). A "
        "hash keeps its own cost and is rehashed at the next sign-in",
    )
)
STAFF_INVITATION_DAYS = STAFF_SIGN_IN.add(
    Setting(
        "STAFF_INVITATION_DAYS",
        whole("days", 1, 30),
        7,
        "how long the e-mailed invitation to set one's password works (a new invitation "
        "ends the older ones; using it ends it too)",
    )
)
STAFF_PASSWORD_RESET_MINUTES = STAFF_SIGN_IN.add(
    Setting(
        "STAFF_PASSWORD_RESET_MINUTES",
        whole("minutes", 5, 1440),
        60,
        'how long the e-mailed link of "Forgot your password?" works (once)',
    )
)
STAFF_PASSWORD_RESET_LIMIT = STAFF_SIGN_IN.add(
    Setting(
        "STAFF_PASSWORD_RESET_LIMIT",
        RATE_LIMIT,
        "5 per 15 minutes;20 per day",
        '"Forgot your password?" requests allowed per client address',
    )
)
