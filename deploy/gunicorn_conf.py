"""gunicorn's settings for every web process: ``gunicorn --config python:deploy.gunicorn_conf``
(the Dockerfile, docker-compose.yml, ``alliance web`` and ``alliance run`` all pass it).

gunicorn writes ``Server: gunicorn`` on every answer and has no setting to leave it out: the
hook below drops it before the first worker starts, so no answer names the server software.
The headers the answers do carry come from the apps themselves (shared/security_headers.py).
"""

from __future__ import annotations

from typing import Any

from gunicorn.http import wsgi


def on_starting(server: Any) -> None:
    hide_server_header()


def hide_server_header() -> None:
    """Make gunicorn's responses leave out their ``Server`` line (idempotent)."""
    response = wsgi.Response
    if getattr(response.default_headers, "hides_server", False):
        return
    default_headers = response.default_headers

    def without_server(self: Any) -> list[str]:
        return [line for line in default_headers(self) if not line.lower().startswith("server:")]

    without_server.hides_server = True  # type: ignore[attr-defined]
    response.default_headers = without_server
