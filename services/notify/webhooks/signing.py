"""Endpoint secrets and signatures (SPEC.md, "Webhooks"; the Standard Webhooks specification).

A secret is ``whsec_`` + base64 of 32 random bytes. It is shown to the Coordinator once (on
creation and on rotation) and kept encrypted (Fernet, with a key derived from
``WEBHOOK_SECRETS_KEY`` or ``SECRET_KEY``): the database alone does not give it away, and no
page, API answer or log line shows it again. A secret sealed with an older key (in
``WEBHOOK_SECRETS_KEY_FALLBACKS``, or ``SECRET_KEY_FALLBACKS`` while the key is derived from
``SECRET_KEY``) still opens; new ones are sealed with the current key, and ``reseal`` seals an
old one again with it (the secret unchanged), so that the old key can be dropped.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Sequence
from datetime import datetime

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from standardwebhooks.webhooks import Webhook

PREFIX = "whsec_"
SECRET_BYTES = 32


class SecretUnreadable(Exception):
    """The stored secret was encrypted with another key (WEBHOOK_SECRETS_KEY changed)."""


def new_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def _fernet(key: str) -> Fernet:
    derived = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"alliance webhook secrets v1"
    ).derive(key.encode("utf-8"))
    return Fernet(base64.urlsafe_b64encode(derived))


def seal(secret: str, *, key: str) -> str:
    return _fernet(key).encrypt(secret.encode("ascii")).decode("ascii")


def unseal(sealed: str, *, key: str, fallbacks: Sequence[str] = ()) -> str:
    """The secret ``sealed`` holds, sealed with ``key`` or any of the older ``fallbacks``."""
    keys = MultiFernet([_fernet(each) for each in (key, *fallbacks)])
    try:
        return keys.decrypt(sealed.encode("ascii")).decode("ascii")
    except InvalidToken:
        raise SecretUnreadable(
            "the endpoint's secret cannot be read with the current WEBHOOK_SECRETS_KEY "
            "(or SECRET_KEY) or its fallbacks; rotate the secret"
        ) from None


def reseal(sealed: str, *, key: str, fallbacks: Sequence[str] = ()) -> str:
    """``sealed`` sealed again with ``key`` (the secret itself unchanged), whichever of ``key``
    and ``fallbacks`` sealed it: after a key rotation, so that the old key can be dropped."""
    keys = MultiFernet([_fernet(each) for each in (key, *fallbacks)])
    try:
        return keys.rotate(sealed.encode("ascii")).decode("ascii")
    except InvalidToken:
        raise SecretUnreadable(
            "the endpoint's secret cannot be read with the current WEBHOOK_SECRETS_KEY "
            "(or SECRET_KEY) or its fallbacks; rotate the secret"
        ) from None


def signature_headers(
    *, secret: str, message_id: str, body: str, timestamp: datetime
) -> dict[str, str]:
    """The three Standard Webhooks headers for ``body`` sent at ``timestamp``."""
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(timestamp.timestamp())),
        "webhook-signature": Webhook(secret).sign(message_id, timestamp, body),
    }
