"""The redirect rule: followed by the SDK, a capped number of hops, credentials stay home.

The transport never follows redirects itself (aiohttp would carry a custom ``api-key``
header to any host). The pipeline asks :func:`next_request` for each hop:

* credentials (``api-key``, ``Authorization`` and every header the client's ``Auth`` added)
  go only to the origin (scheme, host, port) they were issued for; a hop to another origin
  is sent without them, and a hop back home gets them again;
* ``https`` → ``http`` is refused: nothing, not even an unauthenticated request, leaves
  TLS because a server said so;
* 307/308 keep the method and body; 303 (and 301/302 of a GET) become a GET without a
  body; a POST redirected with 301/302/303 is refused, since following it would silently
  turn a create into a read;
* only ``http``/``https`` locations, at most ``max_redirects`` hops.
"""

from __future__ import annotations

from collections.abc import Mapping

import yarl

from ._errors import RedirectError
from ._transports.base import Request, Response

__all__ = ["REDIRECT_STATUSES", "next_request", "origin_of", "safe_location"]

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
CREDENTIAL_HEADERS = ("authorization", "api-key", "proxy-authorization", "cookie",
                      "ocp-apim-subscription-key", "x-api-key")
"""Always treated as credentials, whoever set them (``default_headers`` included)."""


def origin_of(url: yarl.URL) -> tuple[str, str, int | None]:
    """``(scheme, host, port)`` with the default port made explicit."""
    return (url.scheme.lower(), (url.host or "").lower(), url.explicit_port or url.port)


def safe_location(url: yarl.URL) -> str:
    """A URL fit for an error message: no user info, no query (a SAS token lives there)."""
    return str(url.with_user(None).with_query(None).with_fragment(None))


def next_request(request: Request, response: Response, *, hop: int, max_redirects: int,
                 home: tuple[str, str, int | None],
                 credentials: Mapping[str, str]) -> Request | None:
    """The request to send for ``response``'s redirect, or ``None`` if it is not one.

    ``home`` is the origin the credentials were issued for; ``credentials`` are the headers
    the client's auth added (removed on a hop elsewhere, put back on a hop that returns
    home). Raises :class:`~foundry_video.RedirectError` when the redirect must not be
    followed.
    """
    location = response.headers.get("Location")
    if response.status_code not in REDIRECT_STATUSES or not location:
        return None
    where = f"{request.method} {safe_location(request.url)}"
    if hop >= max_redirects:
        raise RedirectError(f"{where}: more than {max_redirects} redirects",
                            status_code=response.status_code, request_id=response.request_id)
    try:
        target = request.url.join(yarl.URL(location))
    except (ValueError, TypeError):
        raise RedirectError(f"{where}: unusable redirect location",
                            status_code=response.status_code,
                            request_id=response.request_id) from None
    if target.scheme not in ("http", "https") or not target.host:
        raise RedirectError(f"{where}: refusing a redirect to a {target.scheme or 'relative'!s} URL",
                            status_code=response.status_code, request_id=response.request_id)
    if request.url.scheme == "https" and target.scheme == "http":
        raise RedirectError(
            f"{where}: refusing a redirect from https to plain http ({safe_location(target)})",
            status_code=response.status_code, request_id=response.request_id)
    method, content = request.method, request.content
    if response.status_code in (301, 302, 303) and method not in ("GET", "HEAD"):
        raise RedirectError(
            f"{where}: the service answered {response.status_code}; following it would turn "
            f"the {method} into a GET, so it was not followed",
            status_code=response.status_code, request_id=response.request_id)
    headers = request.headers.copy()
    strip = {name.lower() for name in credentials} | set(CREDENTIAL_HEADERS)
    for name in strip:
        headers.popall(name, None)
    if origin_of(target) == home:
        headers.update(credentials)
    if content is None:
        headers.popall("Content-Type", None)
    return Request(method, target, headers=headers, content=content, timeout=request.timeout,
                   connect_timeout=request.connect_timeout,
                   extensions={**request.extensions, "redirect": hop + 1})
