"""Where the Jira client may connect: a registered site URL is user input, so it must not reach
private networks (cloud metadata at 169.254.169.254, services on loopback or RFC 1918 ranges).

Checked when a site is registered and before a client's first request (after DNS, so a public name
pointing at a private address is refused too). Redirects are never followed (see the client), so a
checked host cannot hand the request to another one. Between this check and the connection DNS could
still change (rebinding): production deployments should also egress through a proxy that denies
private ranges.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from sync.jira.errors import JiraErrorCode, make_error


def check_site_url(url: str, *, allow_private: bool) -> None:
    """Raise ``JiraError(URL_NOT_ALLOWED)`` unless ``url`` is https on public addresses only.

    ``allow_private`` (JIRAPLUS_ALLOW_PRIVATE_JIRA) admits http and private, loopback and link-local
    addresses: for an on-premises Data Center on a private network, the demo and the tests.
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme != "https" and not allow_private:
        raise make_error(JiraErrorCode.URL_NOT_ALLOWED, detail=f"{url} is not an https URL")
    if allow_private:
        return
    try:
        addresses = {
            info[4][0] for info in socket.getaddrinfo(host, parts.port or 443, type=socket.SOCK_STREAM)
        }
    except (socket.gaierror, UnicodeError) as exc:
        raise make_error(JiraErrorCode.NETWORK_GLITCH, detail=f"cannot resolve {host}: {exc}") from None
    for address in sorted(addresses):
        ip = ipaddress.ip_address(str(address).split("%", 1)[0])
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
            ip = ip.ipv4_mapped
        if not ip.is_global:
            raise make_error(
                JiraErrorCode.URL_NOT_ALLOWED,
                detail=f"{host} resolves to {ip}, which is not a public address",
            )
