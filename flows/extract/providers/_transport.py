"""Where a puller may send a credential: over HTTPS, or to this machine (the loopback test servers).

An access token, a signed JWT or an OAuth assertion sent over plain HTTP to another host can be read
on the way; a base URL, a ``links.next`` or a key file's ``token_uri`` that says ``http://`` is
refused before anything is sent. Loopback (``localhost``, ``127.0.0.0/8``, ``::1``) stays allowed:
the tests' servers, and a local proxy that does the TLS, listen there.
"""

import ipaddress

import httpx

from flows.extract.http_fetch import PullError

__all__ = ["is_loopback", "require_safe_url", "same_origin"]


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (IPv4 and IPv6)."""
    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def require_safe_url(url: str, *, what: str, channel_id: str) -> httpx.URL:
    """``url`` parsed; PullError unless it is https, or http to loopback."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError) as exc:
        raise PullError(f"{channel_id}: {what} is not a URL ({exc})") from None
    if parsed.scheme == "https" and parsed.host:
        return parsed
    if parsed.scheme == "http" and is_loopback(parsed.host):
        return parsed
    raise PullError(
        f"{channel_id}: {what} must be an https:// URL (http:// only to loopback), not "
        f"{parsed.scheme or '?'}://{parsed.host or '?'}: the credentials would cross the network in clear text"
    )


def same_origin(url: httpx.URL, base: httpx.URL) -> bool:
    """Same scheme, host and port: a link to follow with the credentials."""
    return (url.scheme, url.host, url.port) == (base.scheme, base.host, base.port)
