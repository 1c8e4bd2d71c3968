"""HTTP for plug-ins: only to allowed hosts, redirects included."""

from __future__ import annotations

import fnmatch
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

__all__ = ("HostNotAllowed", "allowed_opener", "host_allowed")


class HostNotAllowed(urllib.error.URLError):
    """A request (or a redirect) to a host outside ``allowed_hosts``."""

    def __init__(self, url: str) -> None:
        self.url = url
        super().__init__(f"HTTP request to {url} is not allowed")


def host_allowed(url: str, patterns: list[str]) -> bool:
    """Whether the URL's host matches one of the glob ``patterns`` (as written: no DNS)."""
    host = urllib.parse.urlsplit(url).hostname or ""
    return any(fnmatch.fnmatchcase(host, p) for p in patterns)


class _CheckedRedirects(urllib.request.HTTPRedirectHandler):
    """Follows a redirect only to an allowed host: a redirect must not be a way out."""

    def __init__(self, patterns: list[str]) -> None:
        self._patterns = patterns

    def redirect_request(
        self, req: Any, fp: Any, code: int, msg: str, headers: Any, newurl: str
    ) -> Any:
        if not host_allowed(newurl, self._patterns):
            raise HostNotAllowed(newurl)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def allowed_opener(patterns: list[str]) -> urllib.request.OpenerDirector:
    """An opener that refuses redirects to hosts outside ``patterns`` (and ignores
    proxy settings from the environment, which the worker does not have anyway)."""
    return urllib.request.build_opener(urllib.request.ProxyHandler({}), _CheckedRedirects(patterns))
