"""Which addresses a fetch may connect to: the policy of the private-address guard.

Only globally routable unicast addresses are public. IPv6 addresses that carry an IPv4
address inside them (IPv4-mapped, NAT64 64:ff9b::/96, 6to4 2002::/16, Teredo 2001::/32)
reach that IPv4 host, so they are judged by the address they carry: 2002:7f00:1:: is
127.0.0.1 as far as the guard is concerned. The interpreter's tables also miss some
special-purpose IPv4 blocks (192.0.0.0/24 is partly "global" there), listed here.
"""

from __future__ import annotations

import ipaddress

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

#: Special-purpose blocks the `ipaddress` tables call global, in whole or in part.
_NOT_PUBLIC: tuple[IPNetwork, ...] = (
    ipaddress.ip_network("192.0.0.0/24"),  # IETF protocol assignments (RFC 6890)
    ipaddress.ip_network("64:ff9b:1::/48"),  # local-use NAT64 (RFC 8215)
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # well-known NAT64 prefix (RFC 6052)


def embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address] | None:
    """The IPv4 address(es) an IPv6 address leads to, or None when it embeds none."""
    if ip.ipv4_mapped is not None:
        return [ip.ipv4_mapped]
    if ip in _NAT64:
        return [ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)]
    if ip.sixtofour is not None:
        return [ip.sixtofour]
    if ip.teredo is not None:
        server, client = ip.teredo
        return [server, client]
    return None


def is_public_address(ip: IPAddress) -> bool:
    """True only for globally routable unicast addresses, judged by what they lead to."""
    if any(ip.version == net.version and ip in net for net in _NOT_PUBLIC):
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        inner = embedded_ipv4(ip)
        if inner is not None:
            return all(_is_plain_public(v4) for v4 in inner)
    return _is_plain_public(ip)


def _is_plain_public(ip: IPAddress) -> bool:
    if any(ip.version == net.version and ip in net for net in _NOT_PUBLIC):
        return False
    special = (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )
    return ip.is_global and not special


def is_allowed(ip: IPAddress, allowed_networks: tuple[IPNetwork, ...] = ()) -> bool:
    """The guard's decision for one resolved address: public, or in a network allowed here."""
    if any(ip.version == net.version and ip in net for net in allowed_networks):
        return True
    return is_public_address(ip)
