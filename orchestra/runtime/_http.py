"""HTTP for plug-ins: only http(s), only to allowed hosts, redirects included.

Every URL a plug-in makes the worker fetch (``http_request``, a manifest's
``wasm[].url``), and every redirect target, passes :func:`check_url`: the scheme
is ``http`` or ``https``, the host is written plainly (no user info, escapes,
spaces or control characters, which parsers read differently), and it matches an
``allowed_hosts`` glob. The opener has handlers for http and https only, so a URL
that got past the check by mistake still cannot open a file (``file:``), FTP or
``data:``.
"""

from __future__ import annotations

import fnmatch
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from typing import Any

__all__ = ("HostNotAllowed", "allowed_opener", "check_url")

SCHEMES = ("http", "https")
# host (a name, an IPv4 address or a bracketed IPv6 address), then an optional port
_NETLOC = re.compile(r"(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._~-]+)(?::[0-9]{1,5})?")


class HostNotAllowed(urllib.error.URLError):
    """A request (or a redirect) the grants do not allow: ``why`` says which rule."""

    def __init__(self, url: str, why: str = "") -> None:
        self.url = url
        self.why = why
        super().__init__(f"HTTP request to {url} is not allowed" + (f": {why}" if why else ""))


def check_url(url: object, patterns: Sequence[str]) -> str:
    """The URL's host, if the URL may be fetched under the glob ``patterns``.

    Host names match as written, case-insensitively, without the port (no DNS).

    :raises HostNotAllowed: not a string, a scheme other than http/https, no host,
        a host written ambiguously, or a host no pattern matches (``why`` is empty
        for that last case: Extism's words alone).
    """
    if not isinstance(url, str):
        raise HostNotAllowed(repr(url), "the URL must be a string")
    if any(c <= " " or c == "\x7f" for c in url):  # urlsplit would drop some of them
        raise HostNotAllowed(url, "the URL contains spaces or control characters")
    parts = urllib.parse.urlsplit(url)
    if parts.scheme.lower() not in SCHEMES:
        scheme = parts.scheme or url.partition(":")[0]
        raise HostNotAllowed(url, f"only http and https URLs may be fetched, not {scheme!r}")
    if not parts.netloc:
        raise HostNotAllowed(url, "the URL has no host")
    if not _NETLOC.fullmatch(parts.netloc):
        raise HostNotAllowed(
            url, f"the host part {parts.netloc!r} is not a plain host[:port] (no user info)"
        )
    host = (parts.hostname or "").lower()
    if not host or not any(fnmatch.fnmatchcase(host, p.lower()) for p in patterns):
        raise HostNotAllowed(url)
    return host


class _CheckedRedirects(urllib.request.HTTPRedirectHandler):
    """Follows a redirect only to a URL :func:`check_url` accepts: a redirect must not
    be a way out, to another host or to another scheme."""

    def __init__(self, patterns: Sequence[str]) -> None:
        self._patterns = patterns

    def http_error_302(self, req: Any, fp: Any, code: int, msg: str, headers: Any) -> Any:
        # Checked before the standard library's own scheme check, which answers a
        # redirect to file: with an HTTPError, i.e. as if it were a normal response.
        target = headers.get("location") or headers.get("uri")
        if target is not None:
            check_url(urllib.parse.urljoin(req.full_url, target), self._patterns)
        return super().http_error_302(req, fp, code, msg, headers)

    http_error_301 = http_error_303 = http_error_307 = http_error_308 = http_error_302

    def redirect_request(
        self, req: Any, fp: Any, code: int, msg: str, headers: Any, newurl: str
    ) -> Any:
        check_url(newurl, self._patterns)  # the URL as it will be opened
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def allowed_opener(patterns: Sequence[str]) -> urllib.request.OpenerDirector:
    """An opener for http and https only (no file, FTP or data handlers, no proxies
    from the environment), whose redirects pass :func:`check_url` against
    ``patterns``."""
    opener = urllib.request.OpenerDirector()
    for handler in (
        urllib.request.UnknownHandler(),
        urllib.request.HTTPHandler(),
        urllib.request.HTTPSHandler(),
        urllib.request.HTTPDefaultErrorHandler(),
        _CheckedRedirects(patterns),
        urllib.request.HTTPErrorProcessor(),
    ):
        opener.add_handler(handler)
    return opener
