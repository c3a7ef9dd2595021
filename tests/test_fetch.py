"""The fetcher against a real local server: limits, failures, redirects and the SSRF guard."""

from __future__ import annotations

import gzip
import ipaddress
import time
import tracemalloc
import zlib
from collections.abc import Iterator

import httpx
import pytest

from bot.settings import Settings
from ingest.fetch import Fetcher, IPAddress, is_public_address
from retrieval.errors import SourceError
from tests.fakes import http_server
from tests.fakes.http_server import ArticleServer, Response
from tests.fakes.loopback import loopback_fetcher

article_server = http_server.article_server  # the fixture

LOOPBACK = (ipaddress.ip_network("127.0.0.0/8"),)


@pytest.fixture
def fetcher(settings: Settings) -> Iterator[Fetcher]:
    with Fetcher(settings, allow_private_addresses=True) as made:
        yield made


def fetch_error(fetcher: Fetcher, url: str) -> str:
    with pytest.raises(SourceError) as caught:
        fetcher.fetch(url)
    assert caught.value.source == url
    return caught.value.reason


def test_fetches_page_with_user_agent(fetcher: Fetcher, article_server: ArticleServer) -> None:
    url = article_server.url("/article/harbor-ferry")
    fetched = fetcher.fetch(url)
    assert fetched.url == url
    assert fetched.content_type == "text/html"
    assert fetched.charset == "utf-8"
    assert b"Harbor Town" in fetched.body
    seen = [r for r in article_server.requests if r.path == "/article/harbor-ferry"][-1]
    assert seen.headers["User-Agent"].startswith("articlebot/")


@pytest.mark.parametrize(
    ("path", "reason"),
    [("/status/404", "HTTP 404 Not Found"), ("/status/500", "HTTP 500 Internal Server Error")],
)
def test_http_errors(
    fetcher: Fetcher, article_server: ArticleServer, path: str, reason: str
) -> None:
    assert fetch_error(fetcher, article_server.url(path)) == reason


@pytest.mark.parametrize("path", ["/slow", "/trickle"])
def test_timeout_covers_the_whole_download(
    settings: Settings, article_server: ArticleServer, path: str
) -> None:
    quick = settings.model_copy(update={"fetch_timeout": 0.4})
    started = time.monotonic()
    with Fetcher(quick, allow_private_addresses=True) as fetcher:
        assert fetch_error(fetcher, article_server.url(path)) == "timed out after 0.4 s"
    assert time.monotonic() - started < 3


@pytest.mark.parametrize("path", ["/huge", "/huge-declared", "/gzip-bomb"])
def test_size_cap(settings: Settings, article_server: ArticleServer, path: str) -> None:
    small = settings.model_copy(update={"max_article_bytes": 200_000})
    with Fetcher(small, allow_private_addresses=True) as fetcher:
        assert fetch_error(fetcher, article_server.url(path)) == "larger than 200 kB"


def test_follows_redirects(fetcher: Fetcher, article_server: ArticleServer) -> None:
    fetched = fetcher.fetch(article_server.url("/redirect/5"))
    assert fetched.url == article_server.url("/article/harbor-ferry")


def test_too_many_redirects(fetcher: Fetcher, article_server: ArticleServer) -> None:
    assert fetch_error(fetcher, article_server.url("/redirect/6")) == (
        "too many redirects (more than 5)"
    )
    assert "too many redirects" in fetch_error(fetcher, article_server.url("/redirect-loop"))


def test_redirect_to_another_host(fetcher: Fetcher, article_server: ArticleServer) -> None:
    target = f"http://localhost:{article_server.port}/article/mountain-rail"
    fetched = fetcher.fetch(article_server.url(f"/redirect-to?url={target}"))
    assert fetched.url == target


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://files.example/a.txt", "unsupported scheme 'ftp'"),
        ("file:///etc/passwd", "unsupported scheme 'file'"),
        ("http://", "the URL has no host"),
    ],
)
def test_bad_urls(fetcher: Fetcher, url: str, reason: str) -> None:
    assert fetch_error(fetcher, url) == reason


def test_unsupported_scheme_in_redirect(fetcher: Fetcher, article_server: ArticleServer) -> None:
    url = article_server.url("/redirect-to?url=ftp://files.example/a")
    assert fetch_error(fetcher, url) == (
        "redirect to ftp://files.example/a: unsupported scheme 'ftp'"
    )


def test_connection_refused(fetcher: Fetcher) -> None:
    assert fetch_error(fetcher, "http://127.0.0.1:9/").startswith("could not connect")


def test_uses_a_given_client(settings: Settings, article_server: ArticleServer) -> None:
    with httpx.Client(headers={"X-Given-Client": "yes"}) as client:
        with Fetcher(settings, client=client, allow_private_addresses=True) as fetcher:
            fetcher.fetch(article_server.url("/article/harbor-ferry"))
        assert not client.is_closed  # the fetcher leaves a given client to its owner
        # ... and fetched with it (its own client would not send this header)
        seen = [r for r in article_server.requests if r.path == "/article/harbor-ferry"]
        assert seen and seen[-1].headers.get("X-Given-Client") == "yes"
    # a client of its own is closed with the fetcher
    with Fetcher(settings, allow_private_addresses=True) as fetcher:
        fetcher.fetch(article_server.url("/article/harbor-ferry"))
        own = fetcher._client
    assert own is not None and own.is_closed


# --- SSRF guard ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "240.0.0.1",
        "224.0.0.1",
        "::1",
        "fe80::1",
        "fd00:ec2::254",
        "::ffff:127.0.0.1",
    ],
)
def test_non_public_addresses(address: str) -> None:
    assert not is_public_address(ipaddress.ip_address(address))


def test_public_addresses() -> None:
    assert is_public_address(ipaddress.ip_address("93.184.216.34"))
    assert is_public_address(ipaddress.ip_address("2606:2800:220:1:248:1893:25c8:1946"))


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:{port}/article/harbor-ferry",
        "http://localhost:{port}/article/harbor-ferry",
        "http://[::1]:{port}/",
        "http://2130706433:{port}/",  # 127.0.0.1 as one decimal number
        "http://169.254.169.254/latest/meta-data/",
        "http://0.0.0.0:{port}/",
    ],
)
def test_guard_refuses_private_hosts(
    settings: Settings, article_server: ArticleServer, url: str
) -> None:
    url = url.format(port=article_server.port)
    with loopback_fetcher(settings, allow_private_addresses=False) as fetcher:
        reason = fetch_error(fetcher, url)
    assert reason.startswith("refused: ") and "private or reserved address" in reason
    assert not [r for r in article_server.requests if r.path == "/latest/meta-data/"]


def test_guard_checks_every_redirect_hop(settings: Settings, article_server: ArticleServer) -> None:
    # The server itself is allowed here; the hop it redirects to is not.
    url = article_server.url("/redirect-to?url=http://169.254.169.254/latest/meta-data/")
    with loopback_fetcher(
        settings, allow_private_addresses=False, allowed_networks=LOOPBACK
    ) as fetcher:
        reason = fetch_error(fetcher, url)
    assert reason == (
        "redirect to http://169.254.169.254/latest/meta-data/: refused: '169.254.169.254' "
        "is a private or reserved address (169.254.169.254)"
    )


def test_guard_uses_the_checked_address(settings: Settings, article_server: ArticleServer) -> None:
    """The connection goes to the address that was checked; Host keeps the name."""
    answers = {"news.example": [ipaddress.ip_address("127.0.0.1")]}

    def fake_dns(host: str, port: int) -> list[IPAddress]:
        return list(answers[host])

    url = f"http://news.example:{article_server.port}/echo-host"
    with loopback_fetcher(
        settings, allow_private_addresses=False, allowed_networks=LOOPBACK, resolver=fake_dns
    ) as fetcher:
        fetched = fetcher.fetch(url)
        assert fetched.body == f"news.example:{article_server.port}".encode()
        assert fetched.url == url
        answers["news.example"] = [ipaddress.ip_address("10.0.0.7")]  # DNS now "rebinds"
        assert "(10.0.0.7)" in fetch_error(fetcher, url)


def test_guard_reports_unresolvable_hosts(settings: Settings) -> None:
    def no_dns(host: str, port: int) -> list[IPAddress]:
        raise OSError("Name or service not known")

    with loopback_fetcher(settings, allow_private_addresses=False, resolver=no_dns) as fetcher:
        assert fetch_error(fetcher, "https://nowhere.example/") == (
            "could not resolve host 'nowhere.example'"
        )


# --- decompression bombs ------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["gzip, gzip", "gzip,deflate", "x-gzip, gzip, identity"])
def test_stacked_encodings_cannot_inflate_past_the_cap_in_memory(
    fetcher: Fetcher, article_server: ArticleServer, encoding: str
) -> None:
    """A few kB sent as `gzip, gzip` inflate to 50 MB; memory must stay near the 5 MB cap."""
    body = b"<p>" + b"\0" * 50_000_000
    for name in [n.strip() for n in encoding.split(",")]:
        if name in ("gzip", "x-gzip"):
            body = gzip.compress(body)
        elif name == "deflate":
            body = zlib.compress(body)
    assert len(body) < 100_000
    url = article_server.serve(
        f"/bomb/{len(article_server.requests)}",
        Response(body=body, headers=(("Content-Encoding", encoding),)),
    )
    tracemalloc.start()
    try:
        reason = fetch_error(fetcher, url)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert reason == "larger than 5 MB"
    assert peak < 30_000_000, f"peak {peak / 1e6:.0f} MB while reading a capped body"


@pytest.mark.parametrize(
    ("encoding", "reason"),
    [("zstd", "download failed (unsupported content encoding 'zstd')"),
     ("gzip", "download failed (not valid gzip data (Error -3 while decompressing data: "
      "incorrect header check))")],
)  # fmt: skip
def test_unsupported_or_broken_encodings_are_one_line(
    fetcher: Fetcher, article_server: ArticleServer, encoding: str, reason: str
) -> None:
    url = article_server.serve(
        f"/encoded/{encoding}",
        Response(body=b"<p>plain</p>", headers=(("Content-Encoding", encoding),)),
    )
    assert fetch_error(fetcher, url) == reason


def test_compressed_pages_still_decode(fetcher: Fetcher, article_server: ArticleServer) -> None:
    page = article_server.route("/article/harbor-ferry", {}).body
    for encoding, body in [("gzip", gzip.compress(page)), ("deflate", zlib.compress(page)),
                           ("deflate", zlib.compress(page)[2:-4]), ("gzip, gzip",
                           gzip.compress(gzip.compress(page)))]:  # fmt: skip
        url = article_server.serve(
            f"/ok/{len(body)}", Response(body=body, headers=(("Content-Encoding", encoding),))
        )
        assert fetcher.fetch(url).body == page
