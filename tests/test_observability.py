"""Operating the bot: /healthz, /readyz and /metrics over HTTP, and JSON logs.

The real PTB application against the Bot API emulator (in this process, and as a real
`articlebot telegram` process), probed over HTTP on 127.0.0.1 like a monitoring system.
"""

from __future__ import annotations

import io
import json
import logging
import re
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bot.observability.health import Readiness, store_readiness
from bot.observability.logs import configure, request_id, request_scope
from bot.observability.metrics import Metrics
from bot.observability.server import MonitorServer, start_monitor
from bot.settings import Settings, env_name
from bot.telegram.app import APOLOGY_LLM, REFUSAL_ACCESS, build_application
from bot.telegram.services import Services
from ingest.chunk import Chunker
from retrieval.answer.prompts import REFUSAL
from retrieval.errors import ConfigError
from retrieval.pipeline import make_answerer
from retrieval.store.index import ArticleIndex
from tests.fakes import feed_server as feed_server_module
from tests.fakes import openai_server as fake_openai
from tests.fakes import telegram_server as fake_telegram
from tests.fakes.chroma_server import free_port
from tests.fakes.embedder import HashEmbedder
from tests.fakes.feed_server import FeedServer, stories
from tests.fakes.harness import articlebot_command, running
from tests.fakes.openai_server import FakeOpenAIServer, ScriptedResponse
from tests.fakes.telegram_server import TOKEN, FakeTelegramServer
from tests.test_cli_telegram import (
    articlebot,
    data_dir,
    env_for,
    llm_data_dir,
    llm_env,
    processes,
    wait_until,
)
from tests.test_sync_processes import add_feed
from tests.test_sync_processes import env as sync_env
from tests.test_telegram import BRIDGE, BRIDGE_Q, bot_settings, index, llm_settings, reply_to

telegram_server = fake_telegram.telegram_server  # the fixtures, used by name below
openai_server = fake_openai.openai_server
feed_server = feed_server_module.feed_server
__all__ = ["data_dir", "index", "llm_data_dir", "processes"]
UNANSWERABLE = "Which football club won the cup final in extra time?"
API_KEY = "sk-observability-0123456789SECRET"


def get(port: int, path: str) -> httpx.Response:
    return httpx.get(f"http://127.0.0.1:{port}{path}", timeout=10, trust_env=False)


def healthz(port: int) -> httpx.Response | None:
    """/healthz, or None while nothing listens yet (a process starting)."""
    try:
        return get(port, "/healthz")
    except httpx.TransportError:
        return None


def sample(metrics_text: str, name: str, **labels: str) -> float:
    """The value of one sample in Prometheus' text format (0 when absent)."""
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in metrics_text.splitlines():
        if line.startswith("#"):
            continue
        key, _, value = line.rpartition(" ")
        found, _, rest = key.partition("{")
        if found == name and ",".join(sorted(rest.rstrip("}").split(","))) == wanted:
            return float(value)
    return 0.0


async def counted(server: FakeTelegramServer, port: int, name: str, value: float) -> str:
    """/metrics once `name` has reached `value` (a reply reaches Telegram just before
    the answer is counted)."""
    text: str = await server.wait_for(
        lambda: (text := get(port, "/metrics").text) and sample(text, name) >= value and text
    )
    return text


# -- the bot in this process -------------------------------------------------------------------


async def test_metrics_count_answers_refusals_and_latency(
    tmp_path: Path, telegram_server: FakeTelegramServer, index: ArticleIndex
) -> None:
    port = free_port()
    settings = bot_settings(
        tmp_path, telegram_server, allowed_user_ids="42,43", monitor_port=port, chroma_host=None
    )
    services = Services.create(settings, index, make_answerer(settings, index))
    readiness = store_readiness(index.settings, lambda: index.client)
    monitor = start_monitor(settings, readiness, services.metrics)
    assert monitor is not None
    try:
        async with running(build_application(settings, services)):
            assert get(port, "/healthz").text == "ok\n"
            ready = get(port, "/readyz")
            assert ready.status_code == 200
            generation = index.generation()
            assert ready.text.startswith(f"ready: generation {generation}, 7 articles indexed")
            before = get(port, "/metrics").text
            assert sample(before, "articlebot_answers_total", answerer="offline") == 0
            assert sample(before, "articlebot_refusals_total", reason="not_in_articles") == 0

            telegram_server.private_message(BRIDGE_Q)
            assert "4 May" in (await reply_to(telegram_server, 42))[0]
            after = await counted(telegram_server, port, "articlebot_answer_seconds_count", 1)
            assert sample(after, "articlebot_answers_total", answerer="offline") == 1
            assert sample(after, "articlebot_answer_seconds_count") == 1
            assert sample(after, "articlebot_answer_seconds_sum") > 0
            assert sample(after, "articlebot_answer_seconds_bucket", le="+Inf") == 1
            assert sample(after, "articlebot_refusals_total", reason="not_in_articles") == 0

            telegram_server.private_message(UNANSWERABLE, user_id=43)  # no earlier turns
            assert REFUSAL in (await reply_to(telegram_server, 43))[0]
            telegram_server.private_message(BRIDGE_Q, user_id=77)  # not on the list
            assert await reply_to(telegram_server, 77) == [REFUSAL_ACCESS]
            final = await counted(telegram_server, port, "articlebot_answer_seconds_count", 2)
            assert sample(final, "articlebot_answers_total", answerer="offline") == 2
            assert sample(final, "articlebot_answer_seconds_count") == 2
            assert sample(final, "articlebot_refusals_total", reason="not_in_articles") == 1
            assert sample(final, "articlebot_refusals_total", reason="not_allowed") == 1
            assert get(port, "/nothing").status_code == 404
    finally:
        monitor.close()
    with pytest.raises(httpx.ConnectError):  # the port is released
        get(port, "/healthz")


async def test_a_question_over_the_rate_limit_is_a_refusal_not_an_answer(
    tmp_path: Path, telegram_server: FakeTelegramServer, index: ArticleIndex
) -> None:
    settings = bot_settings(tmp_path, telegram_server, telegram_questions_per_minute=1)
    services = Services.create(settings, index, make_answerer(settings, index))
    async with running(build_application(settings, services)):
        telegram_server.private_message(BRIDGE_Q)
        await reply_to(telegram_server, 42)
        telegram_server.private_message(BRIDGE_Q)  # a second one within the minute
        assert (await reply_to(telegram_server, 42, 2))[1].startswith("You're asking faster")
    text = services.metrics.exposition().decode()
    assert sample(text, "articlebot_refusals_total", reason="rate_limited") == 1
    assert sample(text, "articlebot_answers_total", answerer="offline") == 1


async def test_an_llm_failure_is_counted_and_its_apology_is_no_answer(
    tmp_path: Path,
    telegram_server: FakeTelegramServer,
    openai_server: FakeOpenAIServer,
    index: ArticleIndex,
) -> None:
    openai_server.enqueue(*[ScriptedResponse.error(500)] * 2)  # the call and its one retry
    settings = llm_settings(tmp_path, telegram_server, openai_server)
    services = Services.create(settings, index, make_answerer(settings, index))
    async with running(build_application(settings, services)):
        telegram_server.private_message(BRIDGE_Q)
        assert await reply_to(telegram_server, 42) == [APOLOGY_LLM]
        await telegram_server.wait_for(
            lambda: sample(
                services.metrics.exposition().decode(),
                "articlebot_llm_errors_total",
                kind="LLMError",
            )
        )
    text = services.metrics.exposition().decode()
    assert sample(text, "articlebot_llm_errors_total", kind="LLMError") == 1
    assert sample(text, "articlebot_answers_total", answerer="llm") == 0
    assert sample(text, "articlebot_answer_seconds_count") == 0


def test_readyz_fails_with_one_line_when_chroma_or_the_index_is_gone(tmp_path: Path) -> None:
    closed = free_port()  # nothing listens there
    settings = Settings(_env_file=None, data_dir=tmp_path / "data", chroma_host="127.0.0.1")  # type: ignore[call-arg]
    settings = settings.model_copy(update={"chroma_port": closed})
    with ArticleIndex(settings) as index:  # creates the catalog (generation 0)
        readiness = store_readiness(settings, lambda: index.client)
        with MonitorServer("127.0.0.1", 0, readiness, Metrics()) as monitor:
            port = monitor.address[1]
            response = get(port, "/readyz")
            assert response.status_code == 503
            assert response.text == (
                f"not ready: chroma: Chroma server at 127.0.0.1:{closed} unreachable"
                " (ConnectError)\n"
            )
            assert get(port, "/healthz").status_code == 200  # alive all the same
            settings.catalog_path.rename(tmp_path / "moved.sqlite")
            response = get(port, "/readyz")
            assert response.status_code == 503
            assert response.text == (
                f"not ready: catalog: no index at {settings.data_dir}"
                " (the catalog catalog.sqlite3 is missing)\n"
            )


def test_readyz_fails_when_the_vectors_are_lost(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path / "data")  # type: ignore[call-arg]
    with ArticleIndex(settings, HashEmbedder()) as index:
        index.upsert([(BRIDGE, Chunker(size=300, overlap=40).split(BRIDGE))])
        index.finish_run()
        chunks = index.stats().chunks
        readiness = store_readiness(settings, lambda: index.client)
        with MonitorServer("127.0.0.1", 0, readiness, Metrics()) as monitor:
            port = monitor.address[1]
            ready = get(port, "/readyz")
            assert ready.status_code == 200
            assert ready.text.endswith(f"1 articles indexed; Chroma embedded; {chunks} vectors\n")
            index.client.delete_collection(settings.collection)  # chroma/ lost
            lost = get(port, "/readyz")
            assert lost.status_code == 503
            assert lost.text == (
                f"not ready: vectors: Chroma has no vectors in collection {settings.collection!r}"
                " while 1 articles are indexed; `articlebot ingest` embeds them again\n"
            )


def test_a_busy_monitor_port_is_one_line(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path / "data")  # type: ignore[call-arg]
    readiness = Readiness([])
    with MonitorServer("127.0.0.1", 0, readiness, Metrics()) as first:
        busy = settings.model_copy(update={"monitor_port": first.address[1]})
        with pytest.raises(ConfigError, match=r"^cannot listen on 127\.0\.0\.1:\d+ .*in use$"):
            start_monitor(busy, readiness, Metrics())


# -- logs ----------------------------------------------------------------------------------------


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """The root logger writing JSON lines to a buffer (as `articlebot` sets it up)."""
    root = logging.getLogger()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    saved = root.handlers[:], root.level
    root.handlers, root.level = [handler], logging.INFO
    configure("json", [TOKEN, API_KEY])
    try:
        yield stream
    finally:
        root.handlers, root.level = saved


def test_json_lines_carry_the_request_id_and_never_a_secret(json_log: io.StringIO) -> None:
    log = logging.getLogger("articlebot.test")
    log.info("outside any request")
    with request_scope() as first:
        log.warning("calling https://api.telegram.org/bot%s/getMe", TOKEN)
    with request_scope() as second:
        try:
            raise ValueError(f"the server refused key {API_KEY} and sk-other-key-1234")
        except ValueError:
            log.exception("LLM call failed for https://user:hunter22@llm.example/v1")
    lines = [json.loads(line) for line in json_log.getvalue().splitlines()]
    assert len(lines) == 3
    assert [line["level"] for line in lines] == ["INFO", "WARNING", "ERROR"]
    assert {"time", "level", "logger", "message", "request_id"} <= lines[0].keys()
    assert lines[0]["logger"] == "articlebot.test"
    assert [line["request_id"] for line in lines[1:]] == [first, second]
    assert lines[0]["request_id"] not in (first, second) and first != second
    assert lines[1]["message"] == "calling https://api.telegram.org/bot<redacted>/getMe"
    assert "ValueError: the server refused key <redacted> and <redacted>" in lines[2]["exception"]
    assert lines[2]["message"] == "LLM call failed for https://user:<redacted>@llm.example/v1"
    text = json_log.getvalue()
    for secret in (TOKEN, TOKEN.split(":")[1], API_KEY, "hunter22", "sk-other"):
        assert secret not in text


async def test_the_worker_threads_log_with_the_request_s_id(
    tmp_path: Path, telegram_server: FakeTelegramServer, index: ArticleIndex
) -> None:
    settings = bot_settings(tmp_path, telegram_server)
    services = Services.create(settings, index, make_answerer(settings, index))
    try:
        with request_scope() as first:
            assert await services.run(request_id) == first
        with request_scope() as second:
            assert await services.run(request_id) == second != first
    finally:
        services.close()


# -- `articlebot telegram` as a real process ------------------------------------------------------


@pytest.mark.slow
def test_the_bot_process_serves_probes_metrics_and_json_logs(
    telegram_server: FakeTelegramServer,
    openai_server: FakeOpenAIServer,
    llm_data_dir: Path,
    processes: list[subprocess.Popen[str]],
) -> None:
    openai_server.enqueue_chat("The bridge reopens on 4 May [1].")
    data_dir = llm_data_dir
    port = free_port()
    env = env_for(telegram_server, data_dir) | {
        env_name(k): v for k, v in llm_env(openai_server).items()
    }
    env |= {
        "ARTICLEBOT_MONITOR_PORT": str(port),
        "ARTICLEBOT_LOG_FORMAT": "json",
        "ARTICLEBOT_ALLOWED_USER_IDS": "42",
    }
    processes.append(process := articlebot(env))

    assert wait_until(lambda: healthz(port), process).text == "ok\n"
    assert get(port, "/readyz").text.startswith("ready: generation ")
    telegram_server.private_message(BRIDGE_Q)
    wait_until(lambda: telegram_server.texts(42), process)
    telegram_server.private_message(BRIDGE_Q, user_id=77)  # refused: logged with its id
    wait_until(lambda: telegram_server.texts(77), process)
    wait_until(
        lambda: sample(get(port, "/metrics").text, "articlebot_answers_total", answerer="llm"),
        process,
    )
    metrics = get(port, "/metrics")
    assert metrics.headers["content-type"].startswith("text/plain; version=")
    assert sample(metrics.text, "articlebot_answers_total", answerer="llm") == 1
    assert sample(metrics.text, "articlebot_answer_seconds_count") == 1
    assert sample(metrics.text, "articlebot_llm_errors_total") == 0
    assert sample(metrics.text, "articlebot_refusals_total", reason="not_allowed") == 1

    (data_dir / "catalog.sqlite3").rename(data_dir.parent / "elsewhere.sqlite3")
    gone = get(port, "/readyz")
    assert gone.status_code == 503 and gone.text.count("\n") == 1
    assert gone.text.startswith(f"not ready: catalog: no index at {data_dir}")

    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    lines = [json.loads(line) for line in err.splitlines()]  # every line is JSON
    assert lines and all(line["request_id"] for line in lines)
    [refused] = [line for line in lines if line["message"].startswith("refused an update")]
    startup = lines[0]["request_id"]
    assert refused["request_id"] != startup  # the update's own id
    assert re.fullmatch(r"[0-9a-f]{12}", refused["request_id"])
    for secret in (TOKEN, TOKEN.split(":")[1], "sk-test"):
        assert secret not in err + out
    with pytest.raises(httpx.ConnectError):
        get(port, "/healthz")


def test_the_listener_is_off_and_logs_are_text_by_default(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path / "data")  # type: ignore[call-arg]
    assert settings.monitor_port is None and settings.monitor_host == "127.0.0.1"
    assert settings.log_format == "text"
    readiness = store_readiness(settings, lambda: ArticleIndex(settings).client)
    assert start_monitor(settings, readiness, Metrics()) is None


# -- `articlebot watch` as a real process ---------------------------------------------------------


@pytest.mark.slow
def test_the_watch_process_counts_synced_articles(tmp_path: Path, feed_server: FeedServer) -> None:
    data = tmp_path / "data"
    add_feed(data, feed_server.set_feed("calm", stories("calm", 2)))
    port = free_port()
    process = subprocess.Popen(
        articlebot_command("--data-dir", str(data), "watch", "--json"),
        env=sync_env(tmp_path) | {"ARTICLEBOT_MONITOR_PORT": str(port)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = json.loads(process.stdout.readline())  # the first run is done (and counted)
        assert (line["status"], line["added"]) == ("synced", 2)
        metrics = get(port, "/metrics").text
        assert sample(metrics, "articlebot_sync_runs_total", status="synced") == 1
        assert sample(metrics, "articlebot_ingest_articles_total", job="sync", status="added") == 2
        assert sample(metrics, "articlebot_ingest_failures_total", job="sync") == 0
        assert get(port, "/healthz").text == "ok\n"
        ready = get(port, "/readyz")
        assert ready.status_code == 200, ready.text
        assert re.fullmatch(
            r"ready: generation \d+, 2 articles indexed; Chroma embedded; \d+ vectors\n", ready.text
        )
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=15)
        assert process.returncode == 0, err
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=10)


@pytest.mark.slow
def test_the_bot_process_is_alive_but_not_ready_without_its_chroma_server(
    telegram_server: FakeTelegramServer, data_dir: Path, processes: list[subprocess.Popen[str]]
) -> None:
    closed, port = free_port(), free_port()  # nothing listens on `closed`
    env = env_for(telegram_server, data_dir) | {
        "CHROMA_HOST": "127.0.0.1",
        "CHROMA_PORT": str(closed),
        "ARTICLEBOT_MONITOR_PORT": str(port),
    }
    processes.append(process := articlebot(env))

    assert wait_until(lambda: healthz(port), process).text == "ok\n"
    response = get(port, "/readyz")
    assert response.status_code == 503
    assert response.text == (
        f"not ready: chroma: Chroma server at 127.0.0.1:{closed} unreachable (ConnectError)\n"
    )


@pytest.mark.slow
def test_webhook_mode_serves_the_probes_beside_the_webhook(
    telegram_server: FakeTelegramServer, data_dir: Path, processes: list[subprocess.Popen[str]]
) -> None:
    hook, port = free_port(), free_port()
    url = f"http://127.0.0.1:{hook}/telegram/hook"
    env = env_for(telegram_server, data_dir) | {"ARTICLEBOT_MONITOR_PORT": str(port)}
    args = ["--webhook-url", url, "--listen", "127.0.0.1", "--port", str(hook)]
    processes.append(process := articlebot(env, *args))
    wait_until(lambda: telegram_server.webhook, process)
    assert wait_until(lambda: healthz(port), process).text == "ok\n"
    telegram_server.private_message("/start")  # Telegram POSTs it to the webhook
    wait_until(lambda: telegram_server.texts(42), process)
    assert get(port, "/readyz").text.startswith("ready: generation ")
    assert "articlebot_answers_total" in get(port, "/metrics").text
    assert httpx.get(f"http://127.0.0.1:{hook}/healthz", trust_env=False).status_code == 404
