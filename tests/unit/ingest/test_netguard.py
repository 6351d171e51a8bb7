"""Address classification and the allow-list, as pure functions: no packet is ever sent."""

from __future__ import annotations

import socket
from ipaddress import ip_address

import pytest
from aiohttp.abc import AbstractResolver, ResolveResult

from ingest.netguard import AddressPolicy, AddressRefused, GuardedResolver, classify_address


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("169.254.169.254", "metadata"),
        ("169.254.170.2", "metadata"),
        ("168.63.129.16", "metadata"),
        ("100.100.100.200", "metadata"),
        ("fd00:ec2::254", "metadata"),
        ("0.0.0.0", "unspecified"),
        ("0.1.2.3", "unspecified"),
        ("::", "unspecified"),
        ("127.0.0.1", "loopback"),
        ("127.255.255.254", "loopback"),
        ("::1", "loopback"),
        ("169.254.1.1", "link-local"),
        ("fe80::1", "link-local"),
        ("fe80::1%eth0", "link-local"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("172.31.255.255", "private"),
        ("192.168.1.1", "private"),
        ("100.64.0.1", "private"),
        ("fc00::1", "private"),
        ("fd12:3456::1", "private"),
        ("224.0.0.1", "multicast"),
        ("239.255.255.250", "multicast"),
        ("ff02::1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("255.255.255.255", "reserved"),
        ("192.0.2.10", "reserved"),
        ("198.18.0.1", "reserved"),
        ("198.51.100.7", "reserved"),
        ("203.0.113.9", "reserved"),
        ("2001:db8::1", "reserved"),
        ("fec0::1", "reserved"),
        ("100::1", "reserved"),
        # IPv4 embedded in IPv6 is judged as the IPv4 address it names.
        ("::ffff:127.0.0.1", "loopback"),
        ("::ffff:169.254.169.254", "metadata"),
        ("::ffff:10.0.0.1", "private"),
        ("::127.0.0.1", "loopback"),
        ("64:ff9b::10.0.0.1", "private"),
        ("2002:a9fe:a9fe::1", "metadata"),  # 6to4 of 169.254.169.254
        ("2002:c0a8:0101::1", "private"),  # 6to4 of 192.168.1.1
        # Public: nothing to refuse.
        ("93.184.216.34", ""),
        ("1.1.1.1", ""),
        ("172.32.0.1", ""),
        ("2606:4700::1111", ""),
        ("::ffff:93.184.216.34", ""),
        ("64:ff9b::93.184.216.34", ""),
    ],
)
def test_classify_address(address: str, kind: str) -> None:
    assert classify_address(ip_address(address))[0] == kind


def test_allow_list_takes_networks_addresses_and_host_names() -> None:
    policy = AddressPolicy(["127.0.0.1", "10.0.0.0/8", "Intranet.LAN."])
    assert policy.check_address(ip_address("127.0.0.1")) == ""
    assert policy.check_address(ip_address("10.9.8.7")) == ""
    refused = policy.check_address(ip_address("127.0.0.2"))
    assert refused.startswith("127.0.0.2 is a loopback address (127.0.0.0/8)")
    assert "ingest.allow_addresses" in refused
    assert policy.allows_host("intranet.lan")
    assert not policy.allows_host("other.lan")


@pytest.mark.parametrize(
    ("url", "refused"),
    [
        ("http://127.0.0.1:8080/feed", ""),
        ("http://127.0.0.2:8080/feed", "127.0.0.2 is a loopback"),
        ("http://[::1]/feed", "::1 is a loopback"),
        ("http://[::ffff:169.254.169.254]/latest", "is a metadata"),
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a metadata"),
        # A name is judged on what it resolves to, at connect time.
        ("http://feeds.example/rss", ""),
    ],
)
def test_check_url_judges_address_literals(url: str, refused: str) -> None:
    result = AddressPolicy(["127.0.0.1"]).check_url(url)
    assert refused in result if refused else result == ""


class _Rebinding(AbstractResolver):
    """Answers a public address first, then a loopback one: DNS rebinding."""

    def __init__(self) -> None:
        self.answers = ["93.184.216.34", "127.0.0.2"]

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        address = self.answers.pop(0)
        flags = socket.AI_NUMERICHOST
        return [
            ResolveResult(
                hostname=host, host=address, port=port, family=family, proto=0, flags=flags
            )
        ]

    async def close(self) -> None:
        return None


async def test_every_resolution_is_checked_so_rebinding_is_refused() -> None:
    resolver = GuardedResolver(AddressPolicy(["127.0.0.1"]), _Rebinding())
    first = await resolver.resolve("rebind.example", 80)
    assert [r["host"] for r in first] == ["93.184.216.34"]
    with pytest.raises(AddressRefused, match=r"rebind\.example resolves only to refused"):
        await resolver.resolve("rebind.example", 80)


async def test_allowed_host_name_keeps_its_internal_addresses() -> None:
    policy = AddressPolicy(["rebind.example"])
    resolver = GuardedResolver(policy, _Rebinding())
    await resolver.resolve("rebind.example", 80)
    second = await resolver.resolve("rebind.example", 80)
    assert [r["host"] for r in second] == ["127.0.0.2"]
    # The socket check learns what the allowed name resolved to.
    assert policy.check_address(ip_address("127.0.0.2")) == ""


def test_socket_factory_refuses_before_connecting() -> None:
    policy = AddressPolicy(["127.0.0.1"])
    stream = socket.SOCK_STREAM
    with pytest.raises(AddressRefused, match=r"127\.0\.0\.2 is a loopback"):
        policy.open_socket((socket.AF_INET, stream, 0, "", ("127.0.0.2", 80)))
    with pytest.raises(AddressRefused, match="is a link-local"):
        policy.open_socket((socket.AF_INET6, stream, 0, "", ("fe80::1", 80, 0, 2)))
    sock = policy.open_socket((socket.AF_INET, stream, 0, "", ("127.0.0.1", 80)))
    sock.close()  # created, never connected
