"""One webhook POST that cannot be turned against the agency's own network (SSRF).

The host is resolved once; every address it resolves to is checked (no loopback, private,
link-local, CGNAT, unspecified, multicast, reserved or otherwise non-global address, nor an
IPv4-mapped, NAT64, 6to4 or Teredo form of one); the connection then goes to a checked
address itself, so a second lookup (DNS rebinding) cannot change where it lands, with the
original ``Host`` header and, over HTTPS, the original name for SNI and certificate checks.
Redirects are never followed (``http.client`` does not follow them; a 3xx is a failure).
Only a host an operator lists in ``WEBHOOK_ALLOWED_HOSTS`` skips the address rule, and only
such a host may be reached over ``http://``.

Why not a library: requests-hardened (the best kept) checks only the first address a name
resolves to and allows loopback for every host or none; advocate is unmaintained. The rule
here is small and tested (services/notify/webhooks/tests, tests/integration/test_webhooks.py).
"""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Besides what ``ipaddress`` calls non-global: ranges that translate to or tunnel into IPv4
# (and so may reach an internal IPv4 address), and CGNAT, named for clarity.
TRANSLATED_OR_TUNNELLED = tuple(
    ipaddress.ip_network(network)
    for network in (
        "100.64.0.0/10",  # shared address space (CGNAT): can reach a provider's internals
        "192.0.0.0/24",  # IETF protocol assignments
        "192.88.99.0/24",  # 6to4 relay anycast
        "198.18.0.0/15",  # benchmarking
        "64:ff9b::/96",  # NAT64, well-known prefix
        "64:ff9b:1::/48",  # NAT64, local use
        "2002::/16",  # 6to4
        "2001::/32",  # Teredo
        "2001:20::/28",  # ORCHIDv2
        "5f00::/16",  # segment routing
        "3fff::/20",  # documentation
    )
)

EXCERPT_BYTES = 1024
USER_AGENT = "AllianceProgramManager-Webhooks/1"


class Blocked(Exception):
    """The URL may not be reached; nothing was sent. The message says why."""


def address_refusal(ip: IPAddress) -> str | None:
    """Why a webhook may not go to ``ip``, or None when it may."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return address_refusal(ip.ipv4_mapped)
    for what, found in (
        ("a loopback", ip.is_loopback),
        ("an unspecified", ip.is_unspecified),
        ("a link-local", ip.is_link_local),
        ("a multicast", ip.is_multicast),
        ("a special-purpose (CGNAT, NAT64, 6to4, Teredo…)", _special(ip)),
        ("a reserved", ip.is_reserved),
        ("a private", ip.is_private),
        ("a non-public", not ip.is_global),
    ):
        if found:
            return f"{ip} is {what} address"
    return None


def _special(ip: IPAddress) -> bool:
    return any(ip in network for network in TRANSLATED_OR_TUNNELLED)


def host_allowed(host: str, allowed_hosts: Iterable[str]) -> bool:
    return host.lower().strip("[]") in set(allowed_hosts)


def url_refusal(url: str, *, allowed_hosts: Iterable[str]) -> str | None:
    """What is wrong with ``url`` as an endpoint, judged without any network look-up (the
    registration form's check; delivery checks the resolved addresses again)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "Enter a full URL such as https://hooks.example.org/alliance."
    host = (parts.hostname or "").lower()
    if not host or parts.scheme not in ("https", "http"):
        return "Enter a full URL such as https://hooks.example.org/alliance."
    if parts.username or parts.password:
        return "Leave the user name and password out of the URL."
    if port == 0:
        return "Enter a port from 1 to 65535."
    allowed = host_allowed(host, allowed_hosts)
    if parts.scheme != "https" and not allowed:
        return "Only HTTPS endpoints can be registered."
    if allowed:
        return None
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        if host == "localhost" or host.endswith((".localhost", ".local", ".internal")):
            return "The URL must point to a public address, not an internal one."
        return None
    if address_refusal(ip) is not None:
        return "The URL must point to a public address, not an internal one."
    return None


@dataclass(frozen=True)
class Answer:
    """What one attempt gave: the status (None when no answer came), the ``Retry-After``
    header, the first KB of the answer, the error, and how long it took."""

    status: int | None
    retry_after: str | None
    excerpt: str
    error: str
    duration_ms: int


def resolve(host: str, port: int, *, allowed: bool) -> list[tuple[socket.AddressFamily, Any]]:
    """Every address ``host`` resolves to, each checked; Blocked if any may not be reached."""
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as err:
        raise Blocked(f"{host} could not be resolved: {err}") from None
    addresses: list[tuple[socket.AddressFamily, Any]] = []
    for family, _type, _proto, _name, sockaddr in found:
        if family not in (socket.AF_INET, socket.AF_INET6):
            continue
        ip = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        why = None if allowed else address_refusal(ip)
        if why is not None:
            raise Blocked(f"refused: {host} resolves to {why}")
        if (family, sockaddr) not in addresses:
            addresses.append((family, sockaddr))
    if not addresses:
        raise Blocked(f"{host} resolves to no IP address")
    return addresses


def _open_socket(
    addresses: list[tuple[socket.AddressFamily, Any]], timeout: float
) -> socket.socket:
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
        addresses: list[tuple[socket.AddressFamily, Any]],
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

    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    allowed = host_allowed(host, allowed_hosts)
    tls = parts.scheme == "https"
    if not host or parts.scheme not in ("https", "http"):
        return failed("refused: not an http(s) URL")
    if not tls and not allowed:
        return failed("refused: only HTTPS endpoints are reached")
    try:
        port = parts.port or (443 if tls else 80)
        addresses = resolve(host, port, allowed=allowed)
    except (Blocked, ValueError) as err:
        return failed(str(err))
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    connection = _PinnedConnection(
        host, port, addresses=addresses, tls=tls, connect_timeout=connect_timeout
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
