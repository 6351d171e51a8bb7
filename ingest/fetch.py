"""HTTP fetching for pollers: conditional GET, limits, timeouts, capped redirects.

Every failure ends as a :class:`FetchResult` with a clear ``error``; nothing
here raises for a bad server. Bounds: ``total_timeout_s`` for the whole fetch
(a server trickling one byte per second cannot hold a poller), ``max_body_bytes``
counted on the decompressed stream (so a gzip bomb is cut off as well), and
``max_redirects`` hops with loop detection. Internal addresses are refused on
every hop and at connect time (:mod:`ingest.netguard`), unless allowed.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver

from ingest.netguard import AddressPolicy, GuardedResolver, find_refusal
from wirewatch.settings import IngestSettings

_KEPT_HEADERS = ("etag", "last-modified", "cache-control", "retry-after", "content-type")
_PERMANENT = frozenset({301, 308})
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_CHUNK = 64 * 1024


class _TooLarge(Exception):
    pass


@dataclass(frozen=True)
class FetchResult:
    url: str
    status: int = 0  # 0 when no HTTP response was received
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    final_url: str = ""
    permanent_redirect: str = ""  # where a 301/308 chain from ``url`` ends
    error: str = ""
    elapsed_s: float = 0.0

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    @property
    def ok(self) -> bool:
        return not self.error and (self.status == 304 or 200 <= self.status < 300)


def _host_key(url: str) -> str:
    parts = urlsplit(url)
    return f"{(parts.hostname or '').lower()}:{parts.port or parts.scheme}"


class Fetcher:
    """One shared HTTP client with a global and a per-host concurrency limit."""

    def __init__(
        self, settings: IngestSettings, *, resolver: AbstractResolver | None = None
    ) -> None:
        """``resolver`` replaces aiohttp's default name resolution (still policy-checked)."""
        self.settings = settings
        self._resolver = resolver
        self._global = asyncio.Semaphore(settings.max_concurrency)
        self._hosts: dict[str, asyncio.Semaphore] = {}
        self._session: aiohttp.ClientSession | None = None
        self.policy = AddressPolicy(settings.allow_addresses)

    async def __aenter__(self) -> Fetcher:
        timeout = aiohttp.ClientTimeout(
            total=None,  # enforced around the whole fetch, redirects included
            connect=self.settings.connect_timeout_s,
            sock_read=self.settings.read_timeout_s,
        )
        self._session = aiohttp.ClientSession(
            timeout=timeout,
            headers={"User-Agent": self.settings.user_agent},
            connector=aiohttp.TCPConnector(
                limit=self.settings.max_concurrency,
                resolver=GuardedResolver(self.policy, self._resolver),
                socket_factory=self.policy.open_socket,
            ),
            # Proxies from the environment would connect on our behalf, past the policy.
            trust_env=False,
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _host_limit(self, url: str) -> asyncio.Semaphore:
        key = _host_key(url)
        if key not in self._hosts:
            self._hosts[key] = asyncio.Semaphore(self.settings.per_host_concurrency)
        return self._hosts[key]

    async def fetch(self, url: str, *, etag: str = "", last_modified: str = "") -> FetchResult:
        """GET ``url`` (conditionally when ``etag``/``last_modified`` are known)."""
        started = time.monotonic()
        scheme = urlsplit(url).scheme.lower()
        if scheme == "file" or (not scheme and url.startswith("/")):
            result = await self._read_file(url)
        elif scheme not in ("http", "https"):
            result = FetchResult(url, error=f"scheme {scheme!r} not allowed (http/https only)")
        else:
            try:
                async with asyncio.timeout(self.settings.total_timeout_s):
                    result = await self._get(url, etag, last_modified)
            except TimeoutError:
                result = FetchResult(
                    url, error=f"timed out after {self.settings.total_timeout_s:g}s (total)"
                )
        return _with_elapsed(result, time.monotonic() - started)

    async def _read_file(self, url: str) -> FetchResult:
        if not self.settings.allow_file_urls:
            return FetchResult(url, error="file URLs are disabled (ingest.allow_file_urls)")
        path = Path(unquote(urlsplit(url).path) if url.startswith("file:") else url)
        try:
            size = path.stat().st_size
            if size > self.settings.max_body_bytes:
                return FetchResult(url, error=self._too_large())
            body = await asyncio.to_thread(path.read_bytes)
        except OSError as exc:
            return FetchResult(url, error=f"cannot read file: {exc}")
        return FetchResult(url, status=200, body=body, final_url=url)

    def _too_large(self) -> str:
        return f"response larger than {self.settings.max_body_bytes} bytes (max_body_bytes)"

    async def _get(self, url: str, etag: str, last_modified: str) -> FetchResult:
        if self._session is None:
            raise RuntimeError("use 'async with Fetcher(...)' before fetching")
        headers = {
            "Accept": "application/rss+xml, application/atom+xml, application/xml;q=0.9, */*;q=0.5"
        }
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        current, visited, permanent = url, {url}, ""
        all_permanent = True
        for hop in range(self.settings.max_redirects + 1):
            refused = self.policy.check_url(current)
            if refused:
                where = f"redirect to {current} refused" if hop else "refused"
                return FetchResult(url, error=f"{where}: {refused}", final_url=current)
            try:
                # Host slot first: a task queued behind a busy publisher must not
                # hold one of the global slots that other hosts could use.
                async with (
                    self._host_limit(current),
                    self._global,
                    self._session.get(current, headers=headers, allow_redirects=False) as resp,
                ):
                    kept = {h: resp.headers[h] for h in _KEPT_HEADERS if h in resp.headers}
                    location = resp.headers.get("Location", "")
                    if resp.status in _REDIRECTS and location:
                        target = urljoin(current, location)
                        if urlsplit(target).scheme not in ("http", "https"):
                            return FetchResult(url, resp.status, error=f"redirect to {target!r}")
                        all_permanent = all_permanent and resp.status in _PERMANENT
                        permanent = target if all_permanent else permanent
                        if target in visited:
                            return FetchResult(url, resp.status, error=f"redirect loop at {target}")
                        visited.add(target)
                        current = target
                        continue
                    if resp.status == 304 or resp.status >= 400:
                        error = "" if resp.status == 304 else f"HTTP {resp.status} {resp.reason}"
                        return FetchResult(
                            url, resp.status, b"", kept, current, permanent, error=error
                        )
                    body = await self._read_body(resp)
                    return FetchResult(url, resp.status, body, kept, current, permanent)
            except _TooLarge:
                return FetchResult(url, error=self._too_large(), final_url=current)
            except aiohttp.ConnectionTimeoutError:
                return FetchResult(
                    url, error=f"connect timed out after {self.settings.connect_timeout_s:g}s"
                )
            except (aiohttp.ServerTimeoutError, aiohttp.SocketTimeoutError):
                return FetchResult(
                    url, error=f"read timed out after {self.settings.read_timeout_s:g}s"
                )
            except (aiohttp.ClientError, OSError, ValueError) as exc:
                policy = find_refusal(exc)
                if policy is not None:
                    where = f"redirect to {current} refused" if hop else "refused"
                    return FetchResult(url, error=f"{where}: {policy}", final_url=current)
                return FetchResult(url, error=f"{type(exc).__name__}: {exc}".rstrip(": "))
        return FetchResult(
            url, error=f"too many redirects (more than {self.settings.max_redirects})"
        )

    async def _read_body(self, resp: aiohttp.ClientResponse) -> bytes:
        limit = self.settings.max_body_bytes
        if resp.content_length is not None and resp.content_length > limit:
            raise _TooLarge
        chunks: list[bytes] = []
        size = 0
        async for chunk in resp.content.iter_chunked(_CHUNK):
            size += len(chunk)
            if size > limit:
                raise _TooLarge
            chunks.append(chunk)
        return b"".join(chunks)


def _with_elapsed(result: FetchResult, elapsed: float) -> FetchResult:
    return FetchResult(
        result.url,
        result.status,
        result.body,
        result.headers,
        result.final_url or result.url,
        result.permanent_redirect,
        result.error,
        elapsed,
    )
