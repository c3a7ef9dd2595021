"""What the reliability tests share: a small world of articles, a running bot, RSS sampling.

* `town_articles(n)`: fictional articles, each with one fact only it holds, so that an
  answer under load can be checked (`town_question`, `town_fact`).
* `running(app)`: run a PTB `Application` against the Bot API emulator as `run_polling`
  does, and stop it cleanly.
* `openai_settings(...)`: settings whose embedder (and LLM, if asked) is the fake
  OpenAI-compatible server, so a subprocess (`articlebot ingest`) and the bot in this
  process embed alike, and every use of the index shows in the server's request log.
* `bag_embedding`: an `embed` for the fake server under which texts sharing words are close
  (the offline answerer's evidence threshold is reachable); `librarian`: a `chat_responder`
  that answers like a model, citing the passage about the asked town.
* `ReplyWatcher`: counts each chat's final replies (answers or apologies) in the emulator.
* `RssSampler`: this process's resident memory, sampled in a thread while a test runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import re
import resource
import sys
import threading
import time
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from bot.settings import Settings
from retrieval.types import Article
from tests.fakes.openai_server import FakeOpenAIServer

TOWNS = [
    "Alderby", "Brightwell", "Corvane", "Dunmere", "Eskdale", "Fenwold", "Glasham", "Harrow",
    "Ivybridge", "Kestrel", "Lowick", "Merrow", "Northgate", "Oakhurst", "Pellham", "Quarry",
    "Redcastle", "Sallow", "Thornby", "Umber", "Vexley", "Wendham", "Yarrow", "Zennor",
]  # fmt: skip
API_KEY = "sk-reliability-0123456789abcdefSECRET"


def bag_embedding(text: str, dimension: int) -> list[float]:
    """Word stems (first 5 letters) counted in hashed buckets: texts that share words are
    close, as with a real model, so the offline answerer's evidence threshold is met."""
    vector = np.zeros(dimension, dtype=np.float64)
    for word in re.findall(r"\w+", text.lower()):
        digest = hashlib.blake2b(word[:5].encode(), digest_size=4).digest()
        vector[int.from_bytes(digest, "little") % dimension] += 1.0
    vector[0] += 1e-3  # never a zero vector
    return [float(x) for x in vector / np.linalg.norm(vector)]


def town_name(n: int) -> str:
    """A town name unique to `n` (also in its first five letters, which the embedding sees)."""
    if n < len(TOWNS):
        return TOWNS[n]
    syllables = ["ka", "lo", "mi", "nu", "pe", "ra", "si", "to", "vu", "ze"]
    return "".join(syllables[int(d)] for d in f"{n:03d}").capitalize() + "ton"


def town_fact(n: int) -> str:
    """The number only article `n` holds."""
    return f"{1000 + 37 * n} books"


def town_question(n: int) -> str:
    """A question that only article `n` answers."""
    return f"How many books does the new {town_name(n)} library hold?"


def town_articles(count: int, start: int = 0, *, prefix: str = "town") -> list[Article]:
    """`count` articles about different towns' libraries (ids `<prefix>-<n>`)."""
    articles = []
    for n in range(start, start + count):
        town = town_name(n)
        text = (
            f"The new {town} library holds {town_fact(n)} and has a reading room for forty"
            " people. It opened on Saturday after two years of building work.\n\n"
            f"The council of {town} paid for it with a loan, the mayor said."
            " Opening hours are nine to six on weekdays."
        )
        articles.append(
            Article(
                id=f"{prefix}-{n}",
                title=f"{town} opens its new library",
                text=text,
                url=f"https://news.example/{prefix}/{n}",
                site="Town News",
                published=date(2026, 3, 1 + n % 28),
            )
        )
    return articles


def write_jsonl(path: Path, articles: list[Article]) -> Path:
    """Write articles as a JSON Lines file that `articlebot ingest` reads."""
    with path.open("w", encoding="utf-8") as out:
        for a in articles:
            record = {"id": a.id, "title": a.title, "text": a.text, "url": a.url}
            record |= {
                "site": a.site,
                "published": a.published.isoformat() if a.published else None,
            }
            out.write(json.dumps(record) + "\n")
    return path


def openai_settings(
    data_dir: Path, server: FakeOpenAIServer, *, llm: bool = False, **values: Any
) -> Settings:
    """Settings with the fake server as embedder (and as LLM when `llm`)."""
    defaults: dict[str, Any] = {
        "embedder": "openai",
        "openai_embedding_model": "fake-embedding",
        "openai_api_key": API_KEY,
        "openai_base_url": server.base_url,
        "openai_timeout": 2.0,
        "openai_max_retries": 1,
        "answerer": "llm" if llm else "offline",
        "llm_model": "fake-chat",
    }
    return Settings(_env_file=None, data_dir=data_dir, **(defaults | values))  # type: ignore[call-arg]


def settings_env(settings: Settings) -> dict[str, str]:
    """The environment that gives a subprocess (`python -m bot ...`) these settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ARTICLEBOT_", "OPENAI_"))}
    env |= {
        "ARTICLEBOT_DATA_DIR": str(settings.data_dir),
        "ARTICLEBOT_EMBEDDER": settings.embedder,
        "ARTICLEBOT_ANSWERER": settings.answerer,
        "ARTICLEBOT_OPENAI_EMBEDDING_MODEL": settings.openai_embedding_model,
        "ARTICLEBOT_COLLECTION": settings.collection,
        "ARTICLEBOT_CHUNK_SIZE": str(settings.chunk_size),
        "ARTICLEBOT_CHUNK_OVERLAP": str(settings.chunk_overlap),
        "ARTICLEBOT_OPENAI_TIMEOUT": str(settings.openai_timeout),
        "ARTICLEBOT_OPENAI_MAX_RETRIES": str(settings.openai_max_retries),
        "OPENAI_BASE_URL": settings.openai_base_url or "",
        "NO_PROXY": "127.0.0.1,localhost",
        "PYTHONWARNINGS": "default",
    }
    if settings.openai_api_key is not None:
        env["OPENAI_API_KEY"] = settings.openai_api_key.get_secret_value()
    if settings.chroma_host:
        env |= {"CHROMA_HOST": settings.chroma_host, "CHROMA_PORT": str(settings.chroma_port)}
    return env


def articlebot_command(*args: str) -> list[str]:
    """The command line that runs `articlebot` with this interpreter."""
    return [sys.executable, "-m", "bot", *args]


@contextlib.asynccontextmanager
async def running(app: Any) -> AsyncIterator[Any]:
    """Run the bot as `run_polling` does (initialize, post_init, poll, start), then stop it
    as `run_polling` does too (stop the updater and the application, shut down, post_shutdown).
    """
    try:
        async with app:
            if app.post_init is not None:
                await app.post_init(app)
            await app.updater.start_polling(poll_interval=0, timeout=1)
            await app.start()
            try:
                yield app
            finally:
                await app.updater.stop()
                await app.stop()
    finally:
        if app.post_shutdown is not None:
            await app.post_shutdown(app)


def rss_mb() -> float:
    """This process's resident set size in MB (peak size where /proc is missing)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024 if sys.platform == "darwin" else 1024)


class RssSampler:
    """Sample `rss_mb()` every `interval` seconds in a thread, between `start` and `stop`."""

    def __init__(self, interval: float = 0.25) -> None:
        self.interval = interval
        self.samples: list[tuple[float, float]] = []  # (seconds since start, MB)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)
        self._started = 0.0

    def _run(self) -> None:
        while True:
            self.samples.append((time.monotonic() - self._started, rss_mb()))
            if self._stop.wait(self.interval):
                return

    def __enter__(self) -> RssSampler:
        self._started = time.monotonic()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.samples.append((time.monotonic() - self._started, rss_mb()))

    def window(self, start: float, end: float) -> list[float]:
        """The samples taken between `start` and `end` (fractions of the run)."""
        total = self.samples[-1][0] or 1.0
        return [mb for t, mb in self.samples if start * total <= t <= end * total]

    def summary(self) -> str:
        """ "min/median/max MB over N samples; first quarter -> last quarter" in one line."""
        values = sorted(mb for _, mb in self.samples)
        first, last = self.window(0, 0.25), self.window(0.75, 1)
        return (
            f"RSS {values[0]:.0f}/{values[len(values) // 2]:.0f}/{values[-1]:.0f} MB"
            f" (min/median/max of {len(values)} samples); first quarter median"
            f" {sorted(first)[len(first) // 2]:.0f} MB, last quarter median"
            f" {sorted(last)[len(last) // 2]:.0f} MB"
        )


def percentile(values: list[float], share: float) -> float:
    """The `share` percentile (0..1) of `values` (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def librarian(body: Any) -> str:
    """A chat model for the town articles: cites the passage about the asked town's library.

    An answer request gets "<the sentence with the number of books> [n]" from the passage
    whose title names the town, or the refusal when no passage does.
    """
    user = str(body["messages"][-1]["content"])
    question = user.rsplit("Question:", 1)[-1]
    passages = re.findall(r'<passage id="(\d+)">\n\[\d+\] ([^\n]*)\n(.*?)\n</passage>', user, re.S)
    for number, header, text in passages:
        town = header.split(" opens its new library", 1)[0]
        if town in question:
            sentence = next((s for s in re.split(r"(?<=\.) ", text) if " books " in s), text)
            return f"{sentence} [{number}]"
    return "The articles don't say."


class ReplyWatcher:
    """Follows the emulator's call log and counts each chat's final replies.

    A final reply is an HTML message (an answer or the refusal, sent or edited into a
    draft) or an apology ("Sorry, ..."); a streamed draft is not one.
    """

    def __init__(self, server: Any) -> None:
        self.server = server
        self.finals: dict[int, list[str]] = {}
        self._cursor = 0

    def poll(self) -> None:
        """Read the calls made since the last poll."""
        calls = self.server.calls[self._cursor :]
        self._cursor += len(calls)
        for call in calls:
            if not call.ok or call.method not in ("sendMessage", "editMessageText"):
                continue
            text = str(call.params.get("text", ""))
            if call.params.get("parse_mode") == "HTML" or text.startswith("Sorry"):
                self.finals.setdefault(int(call.params["chat_id"]), []).append(text)

    def count(self, chat_id: int) -> int:
        """How many final replies the chat has had."""
        self.poll()
        return len(self.finals.get(chat_id, []))

    async def wait(self, chat_id: int, count: int, timeout: float) -> str:
        """Wait for the chat's `count`-th final reply and return it."""
        deadline = time.monotonic() + timeout
        while self.count(chat_id) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"chat {chat_id}: no reply {count} within {timeout} s")
            await asyncio.sleep(0.01)
        return self.finals[chat_id][count - 1]
