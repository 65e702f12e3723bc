"""POSTing JSON for the notifiers: the only module that uses urllib.

No proxies from the environment (hubs talk to each other directly), no redirects (a signed request
must reach the URL it was meant for), and every outcome mapped: connection trouble, timeouts, 5xx, 408
and 429 are worth retrying; any other refusal is not.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from email.message import Message
from typing import IO

from hub.notify.errors import NotifyError

_RETRYABLE_STATUS = frozenset({408, 425, 429})


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(  # noqa: PLR0917  # urllib's signature
        self, req: urllib.request.Request, fp: IO[bytes], code: int, msg: str, headers: Message, newurl: str
    ) -> urllib.request.Request | None:
        return None  # the 3xx then surfaces as an HTTPError


_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())


def post(
    url: str, body: bytes, headers: dict[str, str], timeout_s: float, *, retry_auth: bool = False
) -> tuple[int, bytes]:
    """POST ``body``; returns (status, response body) for a 2xx, else raises :class:`NotifyError`.

    ``retry_auth``: a 401/403 is worth retrying (the other end's key or clock may be fixed meanwhile).
    """
    if not url.startswith(("http://", "https://")):
        raise NotifyError(f"{url}: only http and https URLs are sent to", retryable=False)
    request = urllib.request.Request(  # noqa: S310  # checked above: http(s) only
        url, data=body, headers={"Content-Type": "application/json", **headers}, method="POST"
    )
    try:
        with _OPENER.open(request, timeout=timeout_s) as response:
            return int(response.status), response.read(1 << 20)
    except urllib.error.HTTPError as exc:
        with exc:
            detail = exc.read(500).decode("utf-8", errors="replace")
        code = exc.code
        retryable = code >= 500 or code in _RETRYABLE_STATUS or (retry_auth and code in (401, 403))
        raise NotifyError(f"{url} answered {code}: {detail}".strip(), retryable=retryable) from exc
    except urllib.error.URLError as exc:
        raise NotifyError(f"{url}: {exc.reason}", retryable=True) from exc
    except (TimeoutError, ConnectionError, OSError) as exc:
        raise NotifyError(f"{url}: {exc}", retryable=True) from exc
