"""The private-address guard: its decision on addresses, and its default in `articlebot ingest`.

Every request here stays on 127.0.0.0/8: the decision function is tested on addresses alone
(no connection), names resolving to tunnelled addresses go through `loopback_fetcher`, and
the CLI is aimed only at loopback servers (the guard must refuse them unless trusted).
"""

from __future__ import annotations

import ipaddress
import json
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from bot.cli.main import main
from bot.settings import Settings
from ingest.addresses import is_public_address
from ingest.fetch import IPAddress
from retrieval.errors import SourceError
from tests.fakes import http_server
from tests.fakes.http_server import ARTICLE_PARAGRAPHS, ArticleServer, Response
from tests.fakes.loopback import loopback_fetcher

article_server = http_server.article_server  # the fixture


# -- the decision -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "address",
    [
        "192.0.0.9",  # 192.0.0.0/24, IETF protocol assignments ("global" to ipaddress)
        "192.0.0.10",
        "192.0.0.170",
        "2002:7f00:1::1",  # 6to4 of 127.0.0.1
        "2002:a00:1::",  # 6to4 of 10.0.0.1
        "2002:a9fe:a9fe::1",  # 6to4 of 169.254.169.254
        "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo, client 127.0.0.1
        "2001:0:5db8:d822:8000:63bf:f5ff:fffe",  # Teredo, client 10.0.0.1
        "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
        "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
        "64:ff9b:1::5db8:d822",  # local-use NAT64 prefix
        "::ffff:10.0.0.1",  # IPv4-mapped
        "::ffff:169.254.169.254",
        "::7f00:1",  # IPv4-compatible (deprecated)
    ],
)
def test_tunnelled_and_special_addresses_are_not_public(address: str) -> None:
    assert not is_public_address(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "address",
    [
        "93.184.216.34",
        "2002:5db8:d822::1",  # 6to4 of a public address
        "64:ff9b::5db8:d822",  # NAT64 of a public address (DNS64 networks)
        "::ffff:93.184.216.34",
        "2606:2800:220:1:248:1893:25c8:1946",
    ],
)
def test_public_addresses_stay_public(address: str) -> None:
    assert is_public_address(ipaddress.ip_address(address))


@pytest.mark.parametrize("answer", ["2002:7f00:1::1", "64:ff9b::a9fe:a9fe", "192.0.0.9"])
def test_a_name_resolving_to_a_tunnelled_private_address_is_refused(
    settings: Settings, answer: str
) -> None:
    def dns(host: str, port: int) -> list[IPAddress]:
        return [ipaddress.ip_address(answer)]

    with loopback_fetcher(settings, resolver=dns) as fetcher, pytest.raises(SourceError) as no:
        fetcher.fetch("http://tunnel.example/")
    assert no.value.reason == (
        f"refused: 'tunnel.example' is a private or reserved address ({answer})"
    )


# -- the command line ---------------------------------------------------------------------


def ingest(data_dir: Path, *args: str) -> Result:
    return CliRunner().invoke(main, ["--data-dir", str(data_dir), "ingest", *args])


def listed(data_dir: Path) -> list[dict[str, object]]:
    result = CliRunner().invoke(main, ["--data-dir", str(data_dir), "list", "--json"])
    assert result.exit_code == 0, result.output
    loaded: list[dict[str, object]] = json.loads(result.stdout)
    return loaded


def canary(server: ArticleServer) -> str:
    """A unique path that serves the ferry article; fetching it shows in the request log."""
    path = f"/internal/{uuid.uuid4().hex}"
    server.serve(path, server.route("/article/harbor-ferry", {}))
    return path


def fetched(server: ArticleServer, path: str) -> bool:
    return any(r.path == path for r in server.requests)


def feed_linking(server: ArticleServer, links: list[str]) -> str:
    items = "".join(
        f"<item><title>Entry {n}</title><link>{link}</link>"
        f"<description>Teaser number {n} about the harbour ferry.</description></item>"
        for n, link in enumerate(links)
    )
    body = f"<?xml version='1.0'?><rss version='2.0'><channel><title>Intranet</title>{items}"
    body += "</channel></rss>"
    path = f"/feeds/{uuid.uuid4().hex}.rss"
    return server.serve(path, Response(body=body.encode(), content_type="application/rss+xml"))


def test_the_cli_refuses_a_loopback_url_by_default(
    tmp_path: Path, article_server: ArticleServer
) -> None:
    path = canary(article_server)
    url = article_server.url(path)
    result = ingest(tmp_path / "d", url)
    assert result.exit_code == 1
    assert f"{url}: refused: '127.0.0.1' is a private or reserved address (127.0.0.1)" in (
        result.stderr
    )
    assert "--allow-private" in result.stderr
    assert not fetched(article_server, path)


def test_allow_private_fetches_a_url_the_person_typed(
    tmp_path: Path, article_server: ArticleServer
) -> None:
    path = canary(article_server)
    result = ingest(tmp_path / "d", "--allow-private", article_server.url(path))
    assert result.exit_code == 0, result.output
    assert fetched(article_server, path)
    assert [a["title"] for a in listed(tmp_path / "d")] == ["Harbor Town Opens New Ferry Line"]


def test_allow_private_on_a_typed_feed_covers_its_links_to_the_same_host(
    tmp_path: Path, article_server: ArticleServer
) -> None:
    path = canary(article_server)
    feed = feed_linking(article_server, [article_server.url(path)])
    result = ingest(tmp_path / "d", "--allow-private", feed)
    assert result.exit_code == 0, result.output
    assert fetched(article_server, path)
    (article,) = listed(tmp_path / "d")
    assert article["chars"] == len("\n\n".join(ARTICLE_PARAGRAPHS))  # the page, not the teaser


def test_allow_private_does_not_cover_links_and_redirects_to_other_hosts(
    tmp_path: Path, article_server: ArticleServer
) -> None:
    """Another host (here: localhost, another name of the same loopback) is still checked."""
    port = article_server.port
    to_entry, to_redirect = canary(article_server), canary(article_server)
    feed = feed_linking(article_server, [f"http://localhost:{port}{to_entry}"])
    hop = f"http://localhost:{port}{to_redirect}"
    redirect = article_server.url(f"/redirect-to?url={hop}")
    result = ingest(tmp_path / "d", "--allow-private", feed, redirect)
    assert result.exit_code == 1
    assert f"{redirect}: redirect to {hop}: refused: 'localhost' is a private" in result.stderr
    assert not fetched(article_server, to_entry) and not fetched(article_server, to_redirect)
    (article,) = listed(tmp_path / "d")  # the entry's own teaser
    assert article["chars"] == len("Teaser number 0 about the harbour ferry.")


def test_allow_private_does_not_cover_the_links_of_a_local_feed_file(
    tmp_path: Path, article_server: ArticleServer
) -> None:
    path = canary(article_server)
    saved = tmp_path / "saved.rss"
    items = f"<item><title>E</title><link>{article_server.url(path)}</link>"
    items += "<description>Teaser about the harbour ferry line.</description></item>"
    saved.write_text(f"<rss version='2.0'><channel><title>F</title>{items}</channel></rss>")
    result = ingest(tmp_path / "d", "--allow-private", str(saved))
    assert result.exit_code == 0, result.output
    assert not fetched(article_server, path)
