"""Which addresses a feed fetch may reach: the guard against server-side request forgery.

Feed URLs and the redirects they answer with are chosen by strangers, so by
default a fetch refuses loopback, link-local, private, multicast, reserved and
unspecified addresses and the cloud metadata endpoints, in IPv4 and IPv6 (an
IPv4 address embedded in IPv6 is judged as the IPv4 address it names).
``ingest.allow_addresses`` lists the exceptions: networks ("10.0.0.0/8",
"127.0.0.1") or host names, whose addresses are then all accepted.

The fetcher checks each redirect hop's URL (an address literal is refused
before any request), and :class:`GuardedResolver` and :meth:`AddressPolicy.open_socket`
sit inside aiohttp's connector: the first drops refused addresses from every
name resolution, the second checks the very address each socket is about to
connect to, so a name that resolves differently a second time (DNS rebinding)
gains nothing.
"""

from __future__ import annotations

import socket
from collections.abc import Iterable
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network
from urllib.parse import urlsplit

from aiohappyeyeballs import AddrInfoType
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

IPAddress = IPv4Address | IPv6Address
IPNetwork = IPv4Network | IPv6Network

_SETTING = "ingest.allow_addresses"

# First match wins, so the narrow metadata entries precede the ranges holding them.
_RANGES: tuple[tuple[str, IPNetwork], ...] = tuple(
    (kind, ip_network(net))
    for kind, nets in (
        # AWS/GCP/Azure/OCI IMDS, AWS ECS task metadata, Azure wireserver, Alibaba, AWS IPv6.
        (
            "metadata",
            (
                "169.254.169.254/32",
                "169.254.170.2/32",
                "168.63.129.16/32",
                "100.100.100.200/32",
                "fd00:ec2::254/128",
            ),
        ),
        ("unspecified", ("0.0.0.0/8", "::/128")),
        ("loopback", ("127.0.0.0/8", "::1/128")),
        ("link-local", ("169.254.0.0/16", "fe80::/10")),
        # RFC 1918, RFC 6598 shared (carrier-grade NAT) space, IPv6 unique-local.
        ("private", ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7")),
        ("multicast", ("224.0.0.0/4", "ff00::/8")),
        # IETF protocol assignments, documentation, benchmarking, class E and
        # broadcast, discard-only, deprecated site-local, local-use NAT64.
        (
            "reserved",
            (
                "192.0.0.0/24",
                "192.0.2.0/24",
                "198.18.0.0/15",
                "198.51.100.0/24",
                "203.0.113.0/24",
                "240.0.0.0/4",
                "2001:db8::/32",
                "2001::/23",
                "100::/64",
                "fec0::/10",
                "64:ff9b:1::/48",
            ),
        ),
    )
    for net in nets
)
_NAT64 = ip_network("64:ff9b::/96")
_V4_COMPATIBLE = ip_network("::/96")


class AddressRefused(OSError):
    """A connection to an address the policy refuses (raised before any packet is sent)."""


def classify_address(ip: IPAddress) -> tuple[str, str]:
    """(kind, why) for an address a fetch must not reach by default; ("", "") when public.

    ``kind`` is one of metadata, unspecified, loopback, link-local, private,
    multicast, reserved; ``why`` names the range, or the embedded IPv4 address.
    """
    if isinstance(ip, IPv6Address):
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            kind, why = classify_address(embedded)
            return (kind, f"{why}, embedded in {ip}") if kind else ("", "")
        ip = IPv6Address(int(ip))  # drops a scope id (fe80::1%eth0) before matching
    for kind, net in _RANGES:
        if ip in net:
            return kind, str(net)
    if not ip.is_global:
        return "reserved", "not globally routable"
    return "", ""


def _embedded_ipv4(ip: IPv6Address) -> IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _NAT64 or (ip in _V4_COMPATIBLE and int(ip) > 1):
        return IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def parse_address(host: str) -> IPAddress | None:
    """The address a URL host names literally (brackets stripped), or None for a name."""
    try:
        return ip_address(host.strip("[]"))
    except ValueError:
        return None


class AddressPolicy:
    """The refusal rules plus ``ingest.allow_addresses``; shared by every check point."""

    def __init__(self, allow: Iterable[str] = ()) -> None:
        self.networks: list[IPNetwork] = []
        self.hosts: set[str] = set()
        for entry in allow:
            try:
                self.networks.append(ip_network(entry, strict=False))
            except ValueError:
                self.hosts.add(entry.lower().rstrip("."))
        # Addresses that allowed host names resolved to; the socket check sees
        # only an address, so it learns these from the resolver.
        self._granted: set[IPAddress] = set()

    def allows_host(self, host: str) -> bool:
        return host.lower().rstrip(".") in self.hosts

    def check_address(self, ip: IPAddress) -> str:
        """Why a connection to ``ip`` is refused, or "" when it may go ahead."""
        if ip in self._granted or any(ip in net for net in self.networks):
            return ""
        kind, why = classify_address(ip)
        if not kind:
            return ""
        return f"{ip} is a {kind} address ({why}); list it in {_SETTING} to allow it"

    def check_url(self, url: str) -> str:
        """Why ``url`` is refused before any request: only an address literal can be
        judged here; names are judged on what they resolve to, at connect time."""
        host = urlsplit(url).hostname or ""
        ip = parse_address(host)
        if ip is None or self.allows_host(host):
            return ""
        return self.check_address(ip)

    def grant(self, addresses: Iterable[IPAddress]) -> None:
        self._granted.update(addresses)

    def open_socket(self, addr_info: AddrInfoType) -> socket.socket:
        """aiohttp's ``socket_factory``: the last check, on the address being connected to."""
        family, type_, proto, _, sockaddr = addr_info
        ip = ip_address(sockaddr[0]) if isinstance(sockaddr[0], str) else None
        reason = "not an IP address" if ip is None else self.check_address(ip)
        if reason:
            raise AddressRefused(f"connection refused by policy: {reason}")
        return socket.socket(family=family, type=type_, proto=proto)


class GuardedResolver(AbstractResolver):
    """Resolves with aiohttp's default resolver and drops every refused address."""

    def __init__(self, policy: AddressPolicy, inner: AbstractResolver | None = None) -> None:
        self.policy = policy
        self._inner = inner if inner is not None else DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        if self.policy.allows_host(host):
            self.policy.grant(ip_address(r["host"]) for r in results)
            return results
        kept: list[ResolveResult] = []
        refused: list[str] = []
        for result in results:
            reason = self.policy.check_address(ip_address(result["host"]))
            if reason:
                refused.append(reason)
            else:
                kept.append(result)
        if not kept:
            why = refused[0] if refused else "no address"
            raise AddressRefused(f"{host} resolves only to refused addresses: {why}")
        return kept

    async def close(self) -> None:
        await self._inner.close()


def find_refusal(exc: BaseException) -> AddressRefused | None:
    """The :class:`AddressRefused` behind an aiohttp connection error, if that is the cause."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, AddressRefused):
            return current
        seen.add(id(current))
        os_error = getattr(current, "os_error", None)
        current = (
            os_error
            if isinstance(os_error, BaseException)
            else (current.__cause__ or current.__context__)
        )
    return None
