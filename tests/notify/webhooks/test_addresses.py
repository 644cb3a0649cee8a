"""The one address check (addresses.py): the address rule, how a host is read (as inet_aton and
getaddrinfo read it), names, look-ups and WEBHOOK_ALLOWED_HOSTS. No network: the resolver is
replaced in every test that reaches it. Form by form through the API, the page and delivery:
tests/notify/webhooks/test_domain.py."""

from __future__ import annotations

import ipaddress
import re
import socket
from typing import Any

import pytest

from services.notify.webhooks.addresses import (
    PUBLIC_ONLY,
    Blocked,
    Internal,
    Unresolved,
    Unusable,
    address_refusal,
    check,
    ipv4_as_inet_aton,
    read_url,
    registration_refusal,
)

pytestmark = pytest.mark.unit

PUBLIC = "93.184.215.14"


@pytest.fixture
def dns(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Names the resolver knows (a list of addresses, or a gaierror to raise); any other
    name fails the test: the check must not have asked."""
    known: dict[str, Any] = {}

    def getaddrinfo(host: str, port: int, *args: Any, **kwargs: Any) -> list[Any]:
        if host not in known:
            raise AssertionError(f"{host} was looked up")
        if isinstance(known[host], Exception):
            raise known[host]
        return [
            (socket.AF_INET6, socket.SOCK_STREAM, 6, "", (a, port, 0, 0))
            if ":" in a
            else (socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
            for a in known[host]
        ]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return known


@pytest.mark.parametrize(
    ("address", "why"),
    [
        ("127.0.0.1", "loopback"),
        ("127.8.9.10", "loopback"),
        ("::1", "loopback"),
        ("0.0.0.0", "unspecified"),  # noqa: S104
        ("::", "unspecified"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("fec0::1", "site-local"),
        ("10.0.0.1", "private"),
        ("172.16.5.4", "private"),
        ("192.168.1.1", "private"),
        ("fd00::1", "private"),
        ("100.64.0.1", "special-purpose"),
        ("100.127.255.254", "special-purpose"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("255.255.255.255", "reserved"),
        ("::ffff:127.0.0.1", "loopback"),  # IPv4-mapped
        ("::ffff:10.0.0.1", "private"),
        ("::ffff:169.254.169.254", "link-local"),
        ("::127.0.0.1", "reserved"),  # IPv4-compatible (deprecated)
        ("::ffff:0:7f00:1", "reserved"),  # IPv4-translated
        ("64:ff9b::a00:1", "special-purpose"),  # NAT64 of 10.0.0.1
        ("64:ff9b::7f00:1", "special-purpose"),  # NAT64 of 127.0.0.1
        ("2002:a00:1::", "special-purpose"),  # 6to4 of 10.0.0.1
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "special-purpose"),  # Teredo
        ("192.0.2.1", "private"),  # documentation (TEST-NET-1)
        ("198.18.0.1", "special-purpose"),  # benchmarking
    ],
)
def test_internal_addresses_are_refused(address, why):
    refusal = address_refusal(ipaddress.ip_address(address))
    assert refusal is not None
    assert why in refusal


@pytest.mark.parametrize("address", [PUBLIC, "1.1.1.1", "2606:4700:4700::1111", "::ffff:1.1.1.1"])
def test_public_addresses_are_reached(address):
    assert address_refusal(ipaddress.ip_address(address)) is None


@pytest.mark.parametrize(
    "text",
    [
        "127.0.0.1",
        "2130706433",
        "0x7f000001",
        "0X7F000001".lower(),
        "0177.0.0.1",
        "127.1",
        "127.0.1",
        "0x7f.1",
        "0177.0x0.1",
        "017700000001",
        "127.000.000.001",
        "0",
        "00",
        "0x",
        "0x0",
        "10.1",
        "4294967295",
        "1.1.1.1",
        # Not addresses for inet_aton either:
        "4294967296",
        "0x100000000",
        "1.2.3.256",
        "256.1",
        "08.0.0.1",
        "1.2.3.4.5",
        "127.0.0.1.",
        "",
        "1..1",
    ],
)
def test_ipv4_is_read_as_inet_aton_reads_it(text):
    try:
        expected: ipaddress.IPv4Address | None = ipaddress.IPv4Address(socket.inet_aton(text))
    except OSError:
        expected = None
    assert ipv4_as_inet_aton(text) == expected


@pytest.mark.parametrize(
    ("host", "said"),
    [
        ("2130706433", "2130706433 is 127.0.0.1, a loopback address"),
        ("0x7f000001", "0x7f000001 is 127.0.0.1, a loopback address"),
        ("0177.0.0.1", "0177.0.0.1 is 127.0.0.1, a loopback address"),
        ("127.1", "127.1 is 127.0.0.1, a loopback address"),
        ("0", "0 is 0.0.0.0, an unspecified address"),
        ("127.0.0.1.", "127.0.0.1. is 127.0.0.1, a loopback address"),
        ("10.1", "10.1 is 10.0.0.1, a private address"),
        ("0xa9fea9fe", "0xa9fea9fe is 169.254.169.254, a link-local address"),
        ("１２７.０.０.１", "１２７.０.０.１ is 127.0.0.1, a loopback address"),  # noqa: RUF001
        ("127.0.0.1", "127.0.0.1 is a loopback address"),
        ("[::1]", "::1 is a loopback address"),
        ("[0:0:0:0:0:0:0:1]", "0:0:0:0:0:0:0:1 is ::1, a loopback address"),
        ("[fe80::1%25eth0]", "fe80::1%25eth0 is fe80::1, a link-local address"),
        ("[::ffff:7f00:1]", "::ffff:7f00:1 is a loopback address (IPv4-mapped 127.0.0.1)"),
        ("localhost", "localhost names this machine"),
        ("LOCALHOST.", "localhost. names this machine"),
        ("ip6-localhost", "ip6-localhost names this machine"),
        ("hooks.localhost", "hooks.localhost names this machine"),
        (
            "metadata.google.internal",
            "metadata.google.internal is a name only a private network answers for",
        ),
        ("printer.local.", "printer.local. is a name only a private network answers for"),
    ],
)
def test_an_internal_host_is_refused_however_written_without_a_look_up(dns, host, said):
    url = f"https://{host}/hooks"
    with pytest.raises(Internal) as refused:
        read_url(url, allowed_hosts=())
    assert refused.value.for_delivery().startswith(f"refused: {said}")
    why = registration_refusal(url, allowed_hosts=())
    assert why is not None
    assert why.startswith(f"{PUBLIC_ONLY}: {said}")


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("hooks.example.org/alliance", "Enter a full URL"),
        ("ftp://hooks.example.org/", "Enter a full URL"),
        ("http://hooks.example.org/alliance", "Only HTTPS"),
        ("https://user:pw@hooks.example.org/", "Leave the user name and password out"),
        ("https://hooks.example.org:99999/", "Enter a full URL"),
        ("https://hooks.example.org:0/", "Enter a port"),
        ("https://intranet/hooks", "Enter the full host name"),  # search domains would add one
        ("https://08.0.0.1/", "not a valid host name or address"),
        ("https://1.2.3.256/", "not a valid host name or address"),
        ("https://hooks.example.123/", "not a valid host name or address"),
        ("https://hooks..example.org/", "not a valid host name or address"),
        ("https://hooks%2eexample.org/", "not a valid host name or address"),
        ("https://[::1::2]/", "Enter a full URL"),
    ],
)
def test_what_is_not_an_endpoint_url_is_refused_without_a_look_up(dns, url, said):
    with pytest.raises(Unusable) as refused:
        read_url(url, allowed_hosts=())
    assert said in str(refused.value)
    assert said in (registration_refusal(url, allowed_hosts=()) or "")


@pytest.mark.parametrize(
    ("answer", "why"),
    [
        (["127.0.0.1"], "resolves to 127.0.0.1, a loopback address"),
        (["::1"], "resolves to ::1, a loopback address"),
        ([PUBLIC, "10.0.0.1"], "resolves to 10.0.0.1, a private address"),  # one bad one
        (["::ffff:169.254.169.254"], "a link-local address (IPv4-mapped"),
        (["64:ff9b::a9fe:a9fe"], "a special-purpose"),  # NAT64
    ],
)
def test_a_name_is_refused_when_any_address_it_resolves_to_is_internal(dns, answer, why):
    dns["hooks.example.org"] = answer
    url = "https://hooks.example.org/alliance"
    with pytest.raises(Internal, match=re.escape(why)):
        check(url, allowed_hosts=())
    assert why in (registration_refusal(url, allowed_hosts=()) or "")


def test_a_public_host_passes_and_delivery_gets_the_checked_addresses(dns):
    dns["hooks.example.org."] = [PUBLIC, "2606:4700:4700::1111"]
    dns["xn--bcher-kva.example"] = [PUBLIC]
    dns["1.1.1.1"] = ["1.1.1.1"]

    target, found = check("https://Hooks.Example.ORG.:8443/a?b=c", allowed_hosts=())
    assert (target.host.name, target.port, target.tls) == ("hooks.example.org.", 8443, True)
    assert found == [
        (socket.AF_INET, (PUBLIC, 8443)),
        (socket.AF_INET6, ("2606:4700:4700::1111", 8443, 0, 0)),
    ]
    assert registration_refusal("https://bücher.example/hooks", allowed_hosts=()) is None
    # An address written in another form is looked up as the address it is.
    assert registration_refusal("https://16843009/hooks", allowed_hosts=()) is None


def test_a_name_that_does_not_resolve_is_refused_at_registration_and_retried_at_delivery(dns):
    url = "https://hooks.exmaple.org/alliance"
    dns["hooks.exmaple.org"] = socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    assert registration_refusal(url, allowed_hosts=()) == (
        "The name hooks.exmaple.org does not resolve to any address: check it, or register "
        "the endpoint once its DNS name is set up."
    )
    with pytest.raises(Unresolved) as unresolved:
        check(url, allowed_hosts=())
    assert unresolved.value.for_delivery() == (
        "hooks.exmaple.org could not be resolved: [Errno -2] Name or service not known"
    )
    dns["hooks.exmaple.org"] = socket.gaierror(socket.EAI_AGAIN, "Temporary failure")
    assert "could not be looked up just now; try again" in (
        registration_refusal(url, allowed_hosts=()) or ""
    )
    dns["hooks.exmaple.org"] = []
    assert "does not resolve to any address" in (registration_refusal(url, allowed_hosts=()) or "")
    # An unchanged stored URL is checked without the look-up.
    assert registration_refusal(url, allowed_hosts=(), look_up=False) is None


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("http://127.0.0.1:8080/hooks", "127.0.0.1"),
        ("http://127.1:8080/hooks", "127.0.0.1"),  # any spelling of an allowed address
        ("http://2130706433:8080/hooks", "127.0.0.1"),
        ("https://[::1]:8443/hooks", "::1"),
        ("https://[0::1]:8443/hooks", "[::1]"),
        ("http://localhost:8080/hooks", "localhost"),
        ("http://LocalHost.:8080/hooks", "localhost"),
        ("https://receiver.example.test/hooks", "receiver.example.test"),
    ],
)
def test_an_operator_allowed_host_skips_the_address_rule_and_may_use_http(dns, url, allowed):
    assert registration_refusal(url, allowed_hosts=[allowed]) is None  # not looked up
    dns[read_url(url, allowed_hosts=[allowed]).host.name] = ["127.0.0.1"]
    target, found = check(url, allowed_hosts=[allowed])
    assert target.allowed
    assert [address for _family, (address, *_rest) in found] == ["127.0.0.1"]


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("http://127.0.0.1:8080/hooks", "localhost"),
        ("http://127.0.0.2:8080/hooks", "127.0.0.1"),
        ("http://localhost:8080/hooks", "127.0.0.1"),
        ("https://other.localhost/hooks", "localhost"),
    ],
)
def test_an_allowed_host_lets_only_itself_through(dns, url, allowed):
    with pytest.raises(Blocked):
        read_url(url, allowed_hosts=[allowed])
