"""One webhook POST that cannot be turned against the agency's own network (SSRF).

The URL goes through the one address check (addresses.py, which registration uses too): the
host is read the way the resolver reads it, resolved once, and every address it resolves to
is checked. The connection then goes to a checked address itself, so a second lookup (DNS
rebinding) cannot change where it lands, with the original ``Host`` header and, over HTTPS,
the original name for SNI and certificate checks. Redirects are never followed
(``http.client`` does not follow them; a 3xx is a failure).

Why not a library: requests-hardened (the best kept) checks only the first address a name
resolves to and allows loopback for every host or none; advocate is unmaintained. The rule
here is small and tested (tests/notify/webhooks/).
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import ssl
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from services.notify.webhooks.addresses import Blocked, SocketAddress, check

EXCERPT_BYTES = 1024
USER_AGENT = "AllianceProgramManager-Webhooks/1"


@dataclass(frozen=True)
class Answer:
    """What one attempt gave: the status (None when no answer came), the ``Retry-After``
    header, the first KB of the answer, the error, and how long it took."""

    status: int | None
    retry_after: str | None
    excerpt: str
    error: str
    duration_ms: int


def _open_socket(addresses: list[SocketAddress], timeout: float) -> socket.socket:
    """A connection to the first checked address that answers (never looked up again)."""
    last: OSError | None = None
    for family, sockaddr in addresses:
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        try:
            sock.connect(sockaddr)
        except OSError as err:
            sock.close()
            last = err
            continue
        except BaseException:
            sock.close()
            raise
        return sock
    assert last is not None
    raise last


class _PinnedConnection(http.client.HTTPConnection):
    """An HTTP(S) connection to checked addresses, keeping the URL's host for ``Host``,
    SNI and certificate verification."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        addresses: list[SocketAddress],
        tls: bool,
        connect_timeout: float,
    ) -> None:
        super().__init__(host, port, timeout=connect_timeout)
        self._addresses = addresses
        self._tls = tls
        self._connect_timeout = connect_timeout

    def connect(self) -> None:
        sock = _open_socket(self._addresses, self._connect_timeout)
        if self._tls:
            context = ssl.create_default_context()
            try:
                sock = context.wrap_socket(sock, server_hostname=self.host)
            except BaseException:
                sock.close()
                raise
        self.sock = sock


def post(
    url: str,
    *,
    body: bytes,
    headers: dict[str, str],
    allowed_hosts: Iterable[str],
    connect_timeout: float,
    read_timeout: float,
) -> Answer:
    """POST ``body`` to ``url`` once; never raises for a network failure (the Answer says)."""
    started = time.monotonic()

    def took() -> int:
        return round((time.monotonic() - started) * 1000)

    def failed(error: str) -> Answer:
        return Answer(None, None, "", error[:2000], took())

    try:
        target, addresses = check(url, allowed_hosts=allowed_hosts)
    except Blocked as err:
        return failed(err.for_delivery())
    parts = urlsplit(url)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    connection = _PinnedConnection(
        target.host.written,
        target.port,
        addresses=addresses,
        tls=target.tls,
        connect_timeout=connect_timeout,
    )
    watchdog: threading.Timer | None = None
    stage = "connecting"
    try:
        connection.connect()
        assert connection.sock is not None
        connection.sock.settimeout(read_timeout)
        # A slow trickle of bytes would reset a per-read time-out: the whole answer gets
        # read_timeout, after which the socket is shut.
        watchdog = threading.Timer(read_timeout, _shut, args=(connection.sock,))
        watchdog.daemon = True
        watchdog.start()
        stage = "waiting for the answer"
        connection.request("POST", path, body=body, headers={"User-Agent": USER_AGENT, **headers})
        response = connection.getresponse()
        excerpt = response.read(EXCERPT_BYTES)
        return Answer(
            status=response.status,
            retry_after=response.getheader("Retry-After"),
            excerpt=excerpt.decode("utf-8", errors="replace"),
            error="",
            duration_ms=took(),
        )
    except TimeoutError:
        limit = connect_timeout if stage == "connecting" else read_timeout
        return failed(f"timed out {stage} (after {limit:g} s)")
    except ssl.SSLError as err:
        return failed(f"TLS failed: {err}")
    except (OSError, http.client.HTTPException) as err:
        if stage != "connecting" and time.monotonic() - started >= read_timeout:
            return failed(f"timed out {stage} (after {read_timeout:g} s)")
        return failed(f"{stage}: {type(err).__name__}: {err}")
    finally:
        if watchdog is not None:
            watchdog.cancel()
        connection.close()


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
