"""The HTTP client the Twilio SDK sends through: urllib3's thread-safe keep-alive pool.

The SDK takes any ``twilio.http.HttpClient`` (its documented extension point). Its default goes through
``requests``, which re-reads proxy settings from the environment and rebuilds its adapters' state on every
call: about twice the CPU of the whole rest of a send. This client keeps one pool, decides the proxy once,
and otherwise behaves the same (form-encoded body, basic auth, no redirects, a timeout).
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlencode

import urllib3
from requests.utils import get_environ_proxies
from twilio.http import HttpClient
from twilio.http.response import Response

logger = logging.getLogger(__name__)


class PooledHttpClient(HttpClient):
    def __init__(self, *, base_url: str, timeout: float, pool_size: int = 32) -> None:
        super().__init__(logger, is_async=False, timeout=timeout)
        proxy = get_environ_proxies(base_url).get(base_url.split(":", 1)[0])
        options: dict[str, Any] = {"maxsize": pool_size, "block": False, "retries": False}
        self.pool = urllib3.ProxyManager(proxy, **options) if proxy else urllib3.PoolManager(**options)

    def request(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> Response:
        headers = dict(headers or {})
        if auth is not None:
            headers.update(urllib3.make_headers(basic_auth=f"{auth[0]}:{auth[1]}"))
        if params:
            url = f"{url}?{urlencode(params, doseq=True)}"
        body = urlencode(data or {}, doseq=True) if method in ("POST", "PUT") else None
        response = self.pool.request(
            method,
            url,
            body=body,
            headers=headers,
            timeout=urllib3.Timeout(total=timeout if timeout is not None else self.timeout),
            redirect=allow_redirects,
            preload_content=True,
        )
        text = response.data.decode("utf-8", "replace")
        self._test_only_last_response = Response(response.status, text, response.headers)
        return self._test_only_last_response
