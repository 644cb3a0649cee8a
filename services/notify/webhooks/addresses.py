"""The one address check of webhooks: registration (``registration_refusal``, called by
domain.py) and every delivery attempt (``check``, called by client.py) ask it whether a URL
may be reached, and it answers the same for both.

An endpoint may not reach the agency's own network. Refused: loopback, unspecified,
link-local, private, site-local, CGNAT, multicast, reserved and other non-global addresses,
and the IPv4-mapped, NAT64, 6to4 and Teredo forms that translate to or tunnel into IPv4,
however the URL writes them. The host is read the way the resolver will read it:
- IPv4 in every form ``inet_aton`` accepts (``2130706433``, ``0x7f000001``, ``0177.0.0.1``,
  ``127.1``, ``0``, mixed bases), with or without a trailing dot; a host whose last label is
  a number must be such an address (no public name ends in a number);
- IPv6 in brackets, any spelling, a zone id (``%eth0``) set aside;
- a name as IDNA turns it into ASCII (what ``socket.getaddrinfo`` sends: full-width digits
  and dots become ASCII ones), lower case, a trailing dot set aside. ``localhost``,
  ``*.localhost`` (RFC 6761), the loopback names of ``/etc/hosts`` (``ip6-localhost``…) and
  private-network suffixes (``.local``, ``.internal``…) are refused without a look-up, and so
  is a name of one label (the resolver's search domains would complete it);
- any other name is looked up, and every address it resolves to is checked. A name that does
  not resolve is refused at registration (it may be a typo; register it once its DNS answers)
  and fails the attempt at delivery (tried again on the schedule).

Only a host the operator lists in ``WEBHOOK_ALLOWED_HOSTS`` skips the address rule, and only
such a host may be reached over ``http://``. A listed host matches however it is written
(``127.0.0.1`` also lets ``127.1`` through, ``localhost`` also ``localhost.``).

Delivery connects to the addresses checked here, never looking the name up again (DNS
rebinding); registration's look-up only tells the Coordinator early.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
SocketAddress = tuple[socket.AddressFamily, Any]

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

# Names that mean this machine (RFC 6761's localhost and the loopback names systems put in
# /etc/hosts), and suffixes of names that only a private network answers for.
LOOPBACK_NAMES = frozenset(
    {
        "localhost",
        "localhost.localdomain",
        "localhost4",
        "localhost4.localdomain4",
        "localhost6",
        "localhost6.localdomain6",
        "ip6-localhost",
        "ip6-loopback",
    }
)
PRIVATE_SUFFIXES = (
    ".local",  # multicast DNS
    ".internal",  # cloud metadata and private zones (metadata.google.internal)
    ".localdomain",
    ".home.arpa",  # RFC 8375
    ".home",
    ".lan",
    ".corp",
    ".intranet",
)

# A label that reads as a number (a host ending in one must be an IPv4 address), and the
# numbers inet_aton reads: decimal, octal (leading 0), hex (0x).
NUMERIC = re.compile(r"0x[0-9a-f]*|[0-9]+")
NUMBER = re.compile(r"0x[0-9a-f]+|[0-9]+")
NAME_LABEL = re.compile(r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?")
EXAMPLE = "Enter a full URL such as https://hooks.example.org/alliance."
PUBLIC_ONLY = "The URL must point to a public address, not an internal one"


class Blocked(Exception):
    """The URL may not be reached; nothing was sent."""

    def for_registration(self) -> str:
        """The sentence the Coordinator reads under the URL field."""
        return str(self)

    def for_delivery(self) -> str:
        """The error recorded on the attempt."""
        return f"refused: {self}"


class Unusable(Blocked):
    """Not an endpoint URL at all (shape, scheme, user name, port, host)."""


class Internal(Blocked):
    """The URL leads into an internal network; the message says which address or name."""

    def for_registration(self) -> str:
        return f"{PUBLIC_ONLY}: {self}."


class Unresolved(Blocked):
    """The name resolves to no address (or the look-up failed)."""

    def __init__(self, host: str, error: str, *, temporary: bool) -> None:
        super().__init__(f"{host} could not be resolved: {error}")
        self.host = host
        self.temporary = temporary

    def for_registration(self) -> str:
        if self.temporary:
            return f"The name {self.host} could not be looked up just now; try again shortly."
        return (
            f"The name {self.host} does not resolve to any address: check it, or register "
            "the endpoint once its DNS name is set up."
        )

    def for_delivery(self) -> str:
        return str(self)  # not a refusal: the schedule tries again


# -- addresses --------------------------------------------------------------------------------


def address_kind(ip: IPAddress) -> str | None:
    """What kind of internal address ``ip`` is ("a loopback address"), or None if public."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        inner = address_kind(ip.ipv4_mapped)
        return f"{inner} (IPv4-mapped {ip.ipv4_mapped})" if inner else None
    site_local = isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local
    for what, found in (
        ("a loopback", ip.is_loopback),
        ("an unspecified", ip.is_unspecified),
        ("a link-local", ip.is_link_local),
        ("a site-local", site_local),
        ("a multicast", ip.is_multicast),
        ("a special-purpose (CGNAT, NAT64, 6to4, Teredo…)", _special(ip)),
        ("a reserved", ip.is_reserved),
        ("a private", ip.is_private),
        ("a non-public", not ip.is_global),
    ):
        if found:
            return f"{what} address"
    return None


def address_refusal(ip: IPAddress) -> str | None:
    """Why a webhook may not go to ``ip`` ("127.0.0.1 is a loopback address"), or None."""
    kind = address_kind(ip)
    return None if kind is None else f"{ip} is {kind}"


def _special(ip: IPAddress) -> bool:
    return any(ip in network for network in TRANSLATED_OR_TUNNELLED)


def ipv4_as_inet_aton(text: str) -> ipaddress.IPv4Address | None:
    """The IPv4 address ``inet_aton`` (and so ``getaddrinfo``) reads in ``text``: one to four
    numbers, each decimal, octal (leading 0) or hex (0x), the last filling the bytes left
    (``127.1`` is 127.0.0.1, ``2130706433`` too). None when it is not such an address."""
    parts = text.split(".")
    if not 1 <= len(parts) <= 4:
        return None
    values: list[int] = []
    for part in parts:
        if len(part) > 34 or not NUMBER.fullmatch(part):
            return None
        if part.startswith("0x"):
            values.append(int(part[2:], 16))
        elif len(part) > 1 and part.startswith("0"):
            if not set(part) <= set("01234567"):
                return None
            values.append(int(part, 8))
        else:
            values.append(int(part))
    *head, last = values
    if any(value > 255 for value in head) or last >= 256 ** (4 - len(head)):
        return None
    number = last
    for place, value in enumerate(head):
        number += value << (8 * (3 - place))
    return ipaddress.IPv4Address(number)


@dataclass(frozen=True)
class Host:
    """A URL's host as the resolver reads it."""

    written: str  # as the URL writes it (lower case, no brackets)
    name: str  # what getaddrinfo is given: an address's canonical text, or the ASCII name
    address: IPAddress | None  # when the host is an address, however written

    @property
    def key(self) -> str:
        """The same for every spelling of the host (WEBHOOK_ALLOWED_HOSTS matches on it)."""
        return str(self.address) if self.address is not None else self.name.removesuffix(".")


def read_host(written: str) -> Host:
    """The host, as an address or a name; Unusable if it is neither."""
    written = written.lower()
    invalid = Unusable(f"{written or 'The host'} is not a valid host name or address. {EXAMPLE}")
    if ":" in written:
        try:  # IPv6; a zone id (%eth0, %25eth0 in a URL) is set aside
            address: IPAddress = ipaddress.IPv6Address(written.split("%", 1)[0])
        except ValueError:
            raise invalid from None
        return Host(written, str(address), address)
    try:
        name = written.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise invalid from None
    bare = name.removesuffix(".")
    labels = bare.split(".")
    if NUMERIC.fullmatch(labels[-1]):
        ipv4 = ipv4_as_inet_aton(bare)
        if ipv4 is None:
            raise invalid
        return Host(written, str(ipv4), ipv4)
    if len(bare) > 253 or not all(NAME_LABEL.fullmatch(label) for label in labels):
        raise invalid
    return Host(written, name, None)


def _name_refusal(host: Host) -> Blocked | None:
    bare = host.key
    if bare in LOOPBACK_NAMES or bare.endswith(".localhost"):
        return Internal(f"{host.written} names this machine (loopback)")
    if bare.endswith(PRIVATE_SUFFIXES):
        return Internal(f"{host.written} is a name only a private network answers for")
    if "." not in bare:
        return Unusable(
            f"Enter the full host name, not {host.written} alone (for example hooks.example.org)."
        )
    return None


def _allowed_keys(allowed_hosts: Iterable[str]) -> set[str]:
    keys = set()
    for entry in allowed_hosts:
        entry = entry.strip().lower().strip("[]")
        try:
            keys.add(read_host(entry).key)
        except Unusable:
            keys.add(entry)
    return keys


# -- URLs -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """Where a URL leads, read without any network look-up."""

    host: Host
    port: int
    tls: bool
    allowed: bool  # listed in WEBHOOK_ALLOWED_HOSTS: the address rule is skipped


def read_url(url: str, *, allowed_hosts: Iterable[str]) -> Target:
    """The URL's target, checked as far as no look-up is needed: its shape, HTTPS, and a host
    that is an internal address or name however written. Raises Blocked."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise Unusable(EXAMPLE) from None
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise Unusable(EXAMPLE)
    if parts.username is not None or parts.password is not None:
        raise Unusable("Leave the user name and password out of the URL.")
    if port == 0:
        raise Unusable("Enter a port from 1 to 65535.")
    tls = parts.scheme == "https"
    host = read_host(parts.hostname)
    allowed = host.key in _allowed_keys(allowed_hosts)
    if not tls and not allowed:
        raise Unusable("Only HTTPS endpoints are allowed (https://…).")
    target = Target(host, port or (443 if tls else 80), tls, allowed)
    if allowed:
        return target
    if host.address is not None:
        kind = address_kind(host.address)
        if kind is not None:
            if host.written == str(host.address):
                raise Internal(f"{host.written} is {kind}")
            raise Internal(f"{host.written} is {host.address}, {kind}")
        return target
    refused = _name_refusal(host)
    if refused is not None:
        raise refused
    return target


def resolve(target: Target) -> list[SocketAddress]:
    """Every address the target's host resolves to, each checked unless the host is allowed;
    Blocked if any may not be reached or none is found."""
    host = target.host
    try:
        found = socket.getaddrinfo(host.name, target.port, type=socket.SOCK_STREAM)
    except socket.gaierror as err:
        temporary = err.errno == socket.EAI_AGAIN
        raise Unresolved(host.written, str(err), temporary=temporary) from None
    except UnicodeError as err:
        raise Unresolved(host.written, str(err), temporary=False) from None
    addresses: list[SocketAddress] = []
    for family, _type, _proto, _name, sockaddr in found:
        if family not in (socket.AF_INET, socket.AF_INET6):
            continue
        ip = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        kind = None if target.allowed else address_kind(ip)
        if kind is not None:
            raise Internal(f"{host.written} resolves to {ip}, {kind}")
        if (family, sockaddr) not in addresses:
            addresses.append((family, sockaddr))
    if not addresses:
        raise Unresolved(host.written, "no IP address", temporary=False)
    return addresses


def check(url: str, *, allowed_hosts: Iterable[str]) -> tuple[Target, list[SocketAddress]]:
    """The whole check before an attempt: the URL, then every address its host resolves to.
    Raises Blocked; the caller connects to the returned addresses only."""
    target = read_url(url, allowed_hosts=allowed_hosts)
    return target, resolve(target)


def registration_refusal(
    url: str, *, allowed_hosts: Iterable[str], look_up: bool = True
) -> str | None:
    """Why ``url`` may not be registered, in the Coordinator's words, or None. The same check
    as delivery's (``check``); a host the operator allows is not looked up (delivery will).
    ``look_up=False`` skips the resolver (a stored URL checked again, unchanged)."""
    try:
        target = read_url(url, allowed_hosts=allowed_hosts)
        if look_up and not target.allowed:
            resolve(target)
    except Blocked as err:
        return err.for_registration()
    return None
