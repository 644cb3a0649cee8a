"""The mail settings: SMTP, the files backend, the sender, the signature."""

from __future__ import annotations

from shared.config.declarations import PROJECT_ROOT, Section, Setting
from shared.config.parsers import (
    BOOLEAN,
    EMAIL_ADDRESS,
    FROM_ADDRESS,
    PATH,
    one_of,
    seconds,
    text,
    url,
    whole,
)

MAIL_BACKENDS = ("smtp", "files", "console")
MAIL_SIGNATURES = {
    "state_plan": (
        "The {agency} Alliance Program team\nConsultation, Education and Training Division"
    ),
    "federal": "The {agency} Alliance Program team\nU.S. Department of Labor",
}

MAIL = Section(
    "Mail",
    "Without `SMTP_HOST` every message is written as an `.eml` file to `MAIL_DIR`.",
)
SMTP_HOST = MAIL.add(Setting("SMTP_HOST", text("a host name"), "", "send mail over SMTP to it"))
SMTP_PORT = MAIL.add(Setting("SMTP_PORT", whole("", 1, 65535), 25, "the SMTP server's port"))
SMTP_USERNAME = MAIL.add(Setting("SMTP_USERNAME", text(), "", "sign in to the SMTP server as"))
SMTP_PASSWORD = MAIL.add(
    Setting("SMTP_PASSWORD", text(), "", "the SMTP user's password", secret=True)
)
SMTP_STARTTLS = MAIL.add(
    Setting("SMTP_STARTTLS", BOOLEAN, False, "switch the SMTP connection to TLS (STARTTLS)")
)
SMTP_TIMEOUT = MAIL.add(
    Setting(
        "SMTP_TIMEOUT", seconds(1), 10.0, "allowed for the SMTP connection and for each command"
    )
)
MAIL_FROM = MAIL.add(
    Setting(
        "MAIL_FROM",
        FROM_ADDRESS,
        "Alliance Program <alliances@agency.example>",
        "the sender of every message",
    )
)
MAIL_DIR = MAIL.add(
    Setting(
        "MAIL_DIR",
        PATH,
        PROJECT_ROOT / "var" / "mail",
        "where messages are written when there is no `SMTP_HOST`",
        default_doc="`var/mail` (`alliance run`: `$VAR_DIR/mail`)",
    )
)
COORDINATOR_EMAIL = MAIL.add(
    Setting(
        "COORDINATOR_EMAIL",
        EMAIL_ADDRESS,
        "coordinator@agency.example",
        "where the Coordinator's alerts of new proposals and 30-day escalations go while no "
        "active Coordinator account exists (then to each Coordinator by name), and the alerts "
        "of mail that could not be delivered",
        production=True,
    )
)
# -- notify's messages: backend and branding --
MAIL_BACKEND = MAIL.add(
    Setting(
        "MAIL_BACKEND",
        one_of(*MAIL_BACKENDS),
        "",
        "`smtp` (needs `SMTP_HOST`), `files` (`.eml` files in `MAIL_DIR`) or `console` (each "
        "message printed to standard output)",
        default_doc="`smtp` when `SMTP_HOST` is set, else `files`",
    )
)
MAIL_LOGO_URL = MAIL.add(
    Setting(
        "MAIL_LOGO_URL",
        url("https"),
        "",
        "the agency's logo at the top of every HTML message (an image the mail client fetches)",
    )
)
MAIL_SIGNATURE = MAIL.add(
    Setting(
        "MAIL_SIGNATURE",
        text("text; `\\n` starts a new line"),
        "",
        "the signature closing every message",
        default_doc="the profile's: the agency's Alliance Program team and its office",
    )
)
