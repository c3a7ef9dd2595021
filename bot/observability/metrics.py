"""Prometheus metrics: answers, refusals, answer latency, ingest and sync, LLM errors.

Counted by the front ends from what `retrieval` and `ingest` already return (an
`Answer`, an `IngestReport`, a `SourceReport`), so those packages never import this
library. Each `Metrics` has its own registry: two bots in one test process never mix.
"""

from __future__ import annotations

from typing import Literal

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from ingest.pipeline import IngestReport
from ingest.sync.report import SourceReport
from retrieval.answer.fallback import UNREACHABLE
from retrieval.types import Answer

CONTENT_TYPE = CONTENT_TYPE_LATEST
#: Seconds: an offline answer takes tens of ms, an LLM's several seconds.
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0)
#: Why a question got no answer from the articles: they don't say, the user asks too
#: fast, or the user is not on the allow-lists.
RefusalReason = Literal["not_in_articles", "rate_limited", "not_allowed"]
#: Who stored articles: an admin's /add or upload, or a watched source's sync.
IngestJob = Literal["add", "sync"]


class Metrics:
    """The counters and the histogram of one process, and their text exposition."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.answers = Counter(
            "articlebot_answers",
            "Questions answered (found in the articles or not), by who wrote the answer.",
            ["answerer"],
            registry=r,
        )
        self.refusals = Counter(
            "articlebot_refusals",
            "Questions not answered from the articles, by reason.",
            ["reason"],
            registry=r,
        )
        self.latency = Histogram(
            "articlebot_answer_seconds",
            "Seconds from a question to its answer being sent.",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.llm_errors = Counter(
            "articlebot_llm_errors",
            "LLM failures: an error the user got an apology for, or an unreachable LLM"
            " answered around offline (kind=unreachable_fallback).",
            ["kind"],
            registry=r,
        )
        self.articles = Counter(
            "articlebot_ingest_articles",
            "Articles stored or removed, by job and outcome.",
            ["job", "status"],
            registry=r,
        )
        self.ingest_failures = Counter(
            "articlebot_ingest_failures",
            "Sources (files, URLs, feeds) that could not be ingested, by job.",
            ["job"],
            registry=r,
        )
        self.sync_runs = Counter(
            "articlebot_sync_runs",
            "Runs of watched sources, by status (synced, not modified, failed, stopped).",
            ["status"],
            registry=r,
        )
        for reason in ("not_in_articles", "rate_limited", "not_allowed"):
            self.refusals.labels(reason)  # shown as 0 before the first one
        for job in ("add", "sync"):
            self.ingest_failures.labels(job)

    def answered(self, answer: Answer, seconds: float, answerer: str) -> None:
        """Count one answer sent, its latency, and a refusal or fallback it holds."""
        self.answers.labels(answerer).inc()
        self.latency.observe(seconds)
        if not answer.found:
            self.refused("not_in_articles")
        if answer.notice == UNREACHABLE:
            self.llm_error("unreachable_fallback")

    def refused(self, reason: RefusalReason) -> None:
        """Count one question refused."""
        self.refusals.labels(reason).inc()

    def llm_error(self, kind: str) -> None:
        """Count one LLM failure (`kind`: the error's class name, or a fallback)."""
        self.llm_errors.labels(kind).inc()

    def ingested(self, report: IngestReport, job: IngestJob) -> None:
        """Count what one ingest run stored and the sources it could not read."""
        for status in ("added", "updated", "unchanged", "resumed"):
            count = getattr(report, status)
            if count:
                self.articles.labels(job, status).inc(count)
        if report.failed:
            self.ingest_failures.labels(job).inc(report.failed)

    def synced(self, report: SourceReport) -> None:
        """Count one watched source's run: its articles, and its failure if it failed."""
        self.sync_runs.labels(report.status).inc()
        self.ingested(report.ingest, "sync")
        if report.removed:
            self.articles.labels("sync", "removed").inc(len(report.removed))
        if report.status == "failed":
            self.ingest_failures.labels("sync").inc()

    def exposition(self) -> bytes:
        """The text format Prometheus scrapes."""
        return generate_latest(self.registry)
