"""Which addresses a capture may reach: public ones, and those an administrator allowed.

A capture is a request made by the server on a user's behalf, so without a guard a user could read the server's own
network through it (the cloud metadata endpoint, an admin port on loopback, a database on the private range). Every
connection the browser or the media downloader opens goes through casefile.capture.proxy, which asks this module
for the address to connect to: the name is resolved once, every address it resolves to must be public (or on an
allowed network), and the connection goes to the address that was checked, so a name cannot resolve to a public
address for the check and a private one for the connection.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Sequence
from urllib.parse import urlsplit

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], list[str]]


class AddressRefused(Exception):
    """The address may not be captured; the message says why, in words a user can act on."""


class AddressUnknown(AddressRefused):
    """The name does not resolve: nothing to refuse, nothing to reach."""


def system_resolver(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError, ValueError) as error:  # gaierror; an over-long label; an embedded NUL
        raise AddressUnknown(f"{host} cannot be found: {error}") from None
    return [str(info[4][0]) for info in infos]


def _why_not_public(address: Address) -> str:
    if address.is_loopback:
        return "the server's own loopback address"
    if address.is_link_local:
        return "a link-local address (where cloud metadata endpoints live)"
    if address.is_private:
        return "a private network address"
    if address.is_multicast:
        return "a multicast address"
    return "not a public address"


class Guard:
    def __init__(self, allow: Sequence[str] = (), resolve: Resolver = system_resolver) -> None:
        self.allow: list[Network] = [ipaddress.ip_network(n, strict=False) for n in allow]
        self.resolve = resolve

    def allowed(self, address: Address) -> bool:
        return any(address in network for network in self.allow) or address.is_global

    def addresses_for(self, host: str, port: int) -> list[str]:
        """The addresses to connect to for host:port, in the resolver's order, every one checked; AddressRefused
        if any is not allowed."""
        host = host.strip("[]")
        if not host:
            raise AddressRefused("The address names no host.")
        addresses = self.resolve(host, port)
        if not addresses:
            raise AddressUnknown(f"{host} cannot be found.")
        for text in addresses:
            address = ipaddress.ip_address(text.split("%", 1)[0])
            if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
                address = address.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
            if not self.allowed(address):
                # Every address is checked, not only the first: a name that also resolves to a private address is
                # refused, whichever one a later connection would have picked.
                raise AddressRefused(f"{host} is {address}, {_why_not_public(address)}: it may not be captured.")
        return list(dict.fromkeys(addresses))

    def check_url(self, url: str) -> None:
        """A URL a user asks to capture: http(s), with a host this guard lets through."""
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            raise AddressRefused("This is not a web address.") from None
        if parts.scheme not in ("http", "https"):
            raise AddressRefused("Only http:// and https:// addresses can be captured.")
        if not parts.hostname:
            raise AddressRefused("The address names no host.")
        self.addresses_for(parts.hostname, port or (443 if parts.scheme == "https" else 80))
