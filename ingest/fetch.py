"""Download one URL safely: size cap, total deadline, manual redirects, optional SSRF guard.

The Telegram bot will fetch URLs that strangers send, so with `allow_private_addresses=False`
every hop (the first request and each redirect) is resolved and refused if any address is
loopback, private, link-local (cloud metadata), reserved or otherwise not global; the
request then goes to the checked address itself, so a second DNS answer cannot differ.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from http import HTTPStatus
from types import TracebackType

import httpx

from ingest.formats import human_size
from retrieval.errors import SourceError
from retrieval.settings import Settings

MAX_REDIRECTS = 5
ACCEPT = (
    "text/html,application/xhtml+xml,application/rss+xml,application/atom+xml,"
    "application/xml;q=0.9,text/plain;q=0.8,*/*;q=0.5"
)
_REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True, slots=True)
class Fetched:
    """A successful download."""

    url: str  # the final URL, after redirects
    content_type: str  # media type, lowercase, without parameters ("" if not sent)
    charset: str | None  # from the Content-Type header
    body: bytes


def resolve_host(host: str, port: int) -> list[IPAddress]:
    """All addresses `host` resolves to, IPv4 first (the guard's default resolver)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    found = {ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos}
    return sorted(found, key=lambda ip: (ip.version, int(ip)))


def is_public_address(ip: IPAddress) -> bool:
    """True only for globally routable unicast addresses (IPv4-mapped IPv6 judged as IPv4)."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    special = (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )
    return ip.is_global and not special


class Fetcher:
    """Fetches URLs for ingest; makes its own httpx client on first use unless given one.

    resolver: how the guard turns a host name into addresses (DNS by default; a test or an
    embedding application can pass its own).
    """

    def __init__(
        self,
        settings: Settings,
        *,
        client: httpx.Client | None = None,
        allow_private_addresses: bool = True,
        allowed_networks: Iterable[IPNetwork] = (),
        resolver: Callable[[str, int], list[IPAddress]] = resolve_host,
    ) -> None:
        self._timeout = settings.fetch_timeout
        self._max_bytes = settings.max_article_bytes
        self._headers = {"User-Agent": settings.user_agent, "Accept": ACCEPT}
        self._client = client
        self._owns_client = client is None
        self._allow_private = allow_private_addresses
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

    def fetch(self, url: str) -> Fetched:
        """Download `url` (following up to 5 redirects); raise SourceError(url, reason)."""
        deadline = time.monotonic() + self._timeout
        current = url
        for hop in range(MAX_REDIRECTS + 1):
            request_url, headers, extensions = self._prepare(url, current, redirected=hop > 0)
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

    def _prepare(
        self, url: str, current: str, *, redirected: bool
    ) -> tuple[str, dict[str, str], dict[str, str]]:
        """Check scheme and address of one hop; return what to request and how."""
        where = f"redirect to {current}: " if redirected else ""
        try:
            parsed = httpx.URL(current)
        except httpx.InvalidURL as exc:
            raise SourceError(url, f"{where}invalid URL ({exc})") from None
        if parsed.scheme not in ("http", "https"):
            raise SourceError(url, f"{where}unsupported scheme '{parsed.scheme}'")
        if not parsed.host:
            raise SourceError(url, f"{where}the URL has no host")
        headers = dict(self._headers)
        if self._allow_private:
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
            if not self._is_allowed(ip):
                raise SourceError(
                    url,
                    f"{where}refused: '{parsed.host}' is a private or reserved address ({ip})",
                )
        # Connect to the address just checked; keep the name for Host and TLS (SNI + cert).
        headers["Host"] = parsed.netloc.decode("ascii")
        extensions = {"sni_hostname": host} if parsed.scheme == "https" else {}
        return str(parsed.copy_with(host=str(addresses[0]))), headers, extensions

    def _is_allowed(self, ip: IPAddress) -> bool:
        if any(ip.version == net.version and ip in net for net in self._allowed_networks):
            return True
        return is_public_address(ip)

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
            if response.status_code >= 300:
                raise SourceError(url, _status_text(response))
            body = self._read_capped(url, response, deadline)
            content_type = response.headers.get("content-type", "")
            return Fetched(
                url=current,
                content_type=content_type.split(";", 1)[0].strip().lower(),
                charset=response.charset_encoding,
                body=body,
            )

    def _read_capped(self, url: str, response: httpx.Response, deadline: float) -> bytes:
        """Read the (decompressed) body, stopping as soon as it exceeds the size cap."""
        too_large = SourceError(url, f"larger than {human_size(self._max_bytes)}")
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self._max_bytes:
            raise too_large
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > self._max_bytes:
                raise too_large
            if time.monotonic() > deadline:
                raise httpx.ReadTimeout("deadline passed")
            chunks.append(chunk)
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
