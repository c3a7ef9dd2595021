"""Download one URL safely: size cap, total deadline, manual redirects, private-address guard.

Documents from elsewhere decide what gets fetched (a feed's entry links, a redirect, a URL a
stranger sends the bot), so by default every hop is resolved and refused if any address is
loopback, private, link-local (cloud metadata), reserved or otherwise not public (the policy
is `ingest.addresses`); the request then goes to the checked address itself, so a second
DNS answer cannot differ. A person may trust the hosts of the URLs they typed
(`trusted_urls`, from `articlebot ingest --allow-private`): requests to those same hosts
and ports are not checked, anything else still is.

Credentials in a URL (`http://user:pass@host/`) are sent as basic auth with that request
and its relative redirects (same host) only, and are never part of a URL we return or an
error we raise.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from http import HTTPStatus
from types import TracebackType
from urllib.parse import urlsplit, urlunsplit

import httpx

from ingest.addresses import IPAddress, IPNetwork, is_allowed, is_public_address
from ingest.decode import ACCEPT_ENCODING, BoundedDecoder, DecodeError
from ingest.formats import human_size
from ingest.settings import IngestSettings
from retrieval.errors import SourceError

MAX_REDIRECTS = 5
ACCEPT = (
    "text/html,application/xhtml+xml,application/rss+xml,application/atom+xml,"
    "application/xml;q=0.9,text/plain;q=0.8,*/*;q=0.5"
)
_REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})

__all__ = ["Fetched", "Fetcher", "IPAddress", "is_public_address", "without_userinfo"]


@dataclass(frozen=True, slots=True)
class Fetched:
    """A successful download."""

    url: str  # the final URL, after redirects
    content_type: str  # media type, lowercase, without parameters ("" if not sent)
    charset: str | None  # from the Content-Type header
    body: bytes
    status: int = 200  # 304: not modified since the validators sent (`body` is empty)
    etag: str | None = None  # the validators to send next time (conditional GET)
    last_modified: str | None = None

    @property
    def not_modified(self) -> bool:
        """The server said the resource has not changed (a 304 to a conditional GET)."""
        return self.status == 304


def resolve_host(host: str, port: int) -> list[IPAddress]:
    """All addresses `host` resolves to, IPv4 first (the guard's default resolver)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    found = {ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos}
    return sorted(found, key=lambda ip: (ip.version, int(ip)))


class Fetcher:
    """Fetches URLs for ingest; makes its own httpx client on first use unless given one.

    allow_private_addresses: no guard at all (tests of the bot, embedding applications).
    trusted_urls: URLs a person typed and vouched for; their hosts (and ports) skip the guard.
    resolver: how the guard turns a host name into addresses (DNS by default; a test or an
    embedding application can pass its own).
    """

    def __init__(
        self,
        settings: IngestSettings,
        *,
        client: httpx.Client | None = None,
        allow_private_addresses: bool = False,
        trusted_urls: Iterable[str] = (),
        allowed_networks: Iterable[IPNetwork] = (),
        resolver: Callable[[str, int], list[IPAddress]] = resolve_host,
    ) -> None:
        self._timeout = settings.fetch_timeout
        self._max_bytes = settings.max_article_bytes
        self._headers = {
            "User-Agent": settings.user_agent,
            "Accept": ACCEPT,
            "Accept-Encoding": ACCEPT_ENCODING,
        }
        self._client = client
        self._owns_client = client is None
        self._allow_private = allow_private_addresses
        self._trusted = {origin for u in trusted_urls if (origin := _origin(u)) is not None}
        self._allowed_networks = tuple(allowed_networks)
        self._resolve = resolver

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the client if this fetcher made it."""
        if self._owns_client and self._client is not None:
            self._client.close()
            self._client = None

    def fetch(
        self,
        url: str,
        *,
        deadline: float | None = None,
        etag: str | None = None,
        last_modified: str | None = None,
    ) -> Fetched:
        """Download `url` (following up to 5 redirects); raise SourceError(url, reason).

        deadline: a `time.monotonic()` time to give up by, if sooner than our own timeout
        (a feed's deadline). The URL in the error and result has no user name or password.
        etag, last_modified: the validators of the copy we have; they are sent as
        If-None-Match / If-Modified-Since, and a 304 answer is returned (`not_modified`,
        no body) instead of raised.
        """
        own = time.monotonic() + self._timeout
        deadline = own if deadline is None else min(own, deadline)
        current = url
        url = without_userinfo(url)
        for hop in range(MAX_REDIRECTS + 1):
            request_url, headers, extensions = self._prepare(url, current, redirected=hop > 0)
            if etag:
                headers["If-None-Match"] = etag
            if last_modified:
                headers["If-Modified-Since"] = last_modified
            try:
                outcome = self._get(url, current, request_url, headers, extensions, deadline)
            except httpx.TimeoutException:
                raise SourceError(url, f"timed out after {self._timeout:g} s") from None
            except httpx.InvalidURL:  # a Location such as javascript:..., parsed by httpx
                raise SourceError(url, "redirect to an invalid or unsupported URL") from None
            except httpx.HTTPError as exc:
                raise SourceError(url, _describe(exc)) from None
            if isinstance(outcome, Fetched):
                return outcome
            current = outcome
        raise SourceError(url, f"too many redirects (more than {MAX_REDIRECTS})")

    def check(self, url: str) -> None:
        """Refuse `url` as its first request would (scheme, host, the address guard),
        without sending anything: `sources add` checks a URL before storing it."""
        self._prepare(without_userinfo(url), url, redirected=False)

    def _prepare(
        self, url: str, current: str, *, redirected: bool
    ) -> tuple[str, dict[str, str], dict[str, str]]:
        """Check scheme and address of one hop; return what to request and how."""
        where = f"redirect to {without_userinfo(current)}: " if redirected else ""
        try:
            parsed = httpx.URL(current)
        except httpx.InvalidURL as exc:
            raise SourceError(url, f"{where}invalid URL ({exc})") from None
        if parsed.scheme not in ("http", "https"):
            raise SourceError(url, f"{where}unsupported scheme '{parsed.scheme}'")
        if not parsed.host:
            raise SourceError(url, f"{where}the URL has no host")
        headers = dict(self._headers)
        if self._allow_private or _origin(current) in self._trusted:
            return current, headers, {}
        host = parsed.raw_host.decode("ascii")
        try:
            port = parsed.port or (443 if parsed.scheme == "https" else 80)
            addresses = self._resolve(host, port)
        except (OSError, UnicodeError):
            raise SourceError(url, f"{where}could not resolve host '{parsed.host}'") from None
        if not addresses:
            raise SourceError(url, f"{where}could not resolve host '{parsed.host}'")
        for ip in addresses:
            if not is_allowed(ip, self._allowed_networks):
                raise SourceError(
                    url,
                    f"{where}refused: '{parsed.host}' is a private or reserved address ({ip})",
                )
        # Connect to the address just checked; keep the name for Host and TLS (SNI + cert).
        headers["Host"] = parsed.netloc.decode("ascii")
        extensions = {"sni_hostname": host} if parsed.scheme == "https" else {}
        return str(parsed.copy_with(host=str(addresses[0]))), headers, extensions

    def _get(
        self,
        url: str,
        current: str,
        request_url: str,
        headers: dict[str, str],
        extensions: dict[str, str],
        deadline: float,
    ) -> Fetched | str:
        """One request: the download, or the absolute URL of the next redirect hop."""
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise httpx.ReadTimeout("deadline passed")
        with self._http().stream(
            "GET",
            request_url,
            headers=headers,
            extensions=extensions,
            timeout=httpx.Timeout(remaining),
            follow_redirects=False,
        ) as response:
            location = response.headers.get("location")
            if response.status_code in _REDIRECT_CODES and location:
                return str(httpx.URL(current).join(location))
            conditional = "If-None-Match" in headers or "If-Modified-Since" in headers
            if response.status_code == 304 and conditional:
                return Fetched(
                    url=without_userinfo(current),
                    content_type="",
                    charset=None,
                    body=b"",
                    status=304,
                    etag=response.headers.get("etag") or headers.get("If-None-Match"),
                    last_modified=(
                        response.headers.get("last-modified") or headers.get("If-Modified-Since")
                    ),
                )
            if response.status_code >= 300:
                raise SourceError(url, _status_text(response))
            body = self._read_capped(url, response, deadline)
            content_type = response.headers.get("content-type", "")
            return Fetched(
                url=without_userinfo(current),
                content_type=content_type.split(";", 1)[0].strip().lower(),
                charset=response.charset_encoding,
                body=body,
                etag=response.headers.get("etag"),
                last_modified=response.headers.get("last-modified"),
            )

    def _read_capped(self, url: str, response: httpx.Response, deadline: float) -> bytes:
        """Read and decode the body, stopping as soon as the decoded size exceeds the cap.

        The raw stream is decoded here, a bounded piece at a time (`ingest.decode`), so a
        small compressed body cannot inflate in memory past the cap.
        """
        too_large = SourceError(url, f"larger than {human_size(self._max_bytes)}")
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self._max_bytes:
            raise too_large
        chunks: list[bytes] = []
        size = 0
        try:
            decoder = BoundedDecoder(response.headers.get("content-encoding", ""))
            for raw in response.iter_raw():
                for piece in decoder.feed(raw):
                    size += len(piece)
                    if size > self._max_bytes:
                        raise too_large
                    chunks.append(piece)
                if time.monotonic() > deadline:
                    raise httpx.ReadTimeout("deadline passed")
            for piece in decoder.finish():
                size += len(piece)
                if size > self._max_bytes:
                    raise too_large
                chunks.append(piece)
        except DecodeError as exc:
            raise SourceError(url, f"download failed ({exc})") from None
        return b"".join(chunks)

    def _http(self) -> httpx.Client:
        if self._client is None:
            self._client = httpx.Client(follow_redirects=False)
        return self._client


def _status_text(response: httpx.Response) -> str:
    """Say e.g. "HTTP 404 Not Found", with the standard phrase rather than the server's."""
    try:
        phrase = HTTPStatus(response.status_code).phrase
    except ValueError:
        phrase = "error" if response.status_code >= 400 else "unexpected status"
    return f"HTTP {response.status_code} {phrase}"


def _describe(exc: httpx.HTTPError) -> str:
    """One line for a transport failure (connection refused, protocol error...)."""
    detail = str(exc).strip().split("\n", 1)[0] or type(exc).__name__
    if isinstance(exc, httpx.ConnectError):
        return f"could not connect ({detail})"
    return f"download failed ({detail})"


def without_userinfo(url: str) -> str:
    """`url` without "user:password@" (kept only for the request itself); else unchanged."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def _origin(url: str) -> tuple[str, int] | None:
    """(host, port) of an http(s) URL, for matching the hosts a person trusted."""
    try:
        parsed = httpx.URL(url)
        if parsed.scheme not in ("http", "https") or not parsed.host:
            return None
        return parsed.host, parsed.port or (443 if parsed.scheme == "https" else 80)
    except (httpx.InvalidURL, ValueError):
        return None
