"""`articlebot telegram --watch`: the sync scheduler inside the bot, on PTB's JobQueue.

A job looks for due sources and runs them in one of the bot's worker threads, under the
services' write lock (as /add's ingest does), so answers go on meanwhile and one process
serves both. Each run schedules the next `CHECK_EVERY` seconds after it ends, so runs
never overlap however long one takes; stopping the bot asks a sync in flight to stop
between articles, before the worker threads are shut down.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Awaitable, Callable
from typing import Any

from telegram.ext import ContextTypes

from bot.observability.logs import set_request_id
from bot.telegram.services import Services, services_of
from ingest.sync.clock import SystemClock
from ingest.sync.report import SourceReport
from ingest.sync.runner import SyncRunner

log = logging.getLogger(__name__)

SYNC_JOB = "articlebot-sync"
#: Seconds between looks for due sources (a source's own interval is at least a minute).
CHECK_EVERY = 30.0
_RUNNER = "sync_runner"
_EVERY = "sync_every"


def make_runner(services: Services, *, keep_deleted: bool = False) -> SyncRunner:
    """A runner over the bot's index, on the real clock."""
    return SyncRunner(
        services.index,
        services.settings,
        clock=SystemClock(),
        rng=random.Random(),
        keep_deleted=keep_deleted,
        allow_private_addresses=services.allow_private_addresses,
    )


def schedule_sync(
    application: Any, runner: SyncRunner, *, first: float = 1.0, every: float = CHECK_EVERY
) -> None:
    """Add the repeating sync job; RuntimeError (one line) without the job-queue extra."""
    if application.job_queue is None:
        raise RuntimeError(
            "--watch needs python-telegram-bot[job-queue]: pip install it (articlebot"
            " declares it; a partial install may lack APScheduler)"
        )
    application.bot_data[_RUNNER] = runner
    application.bot_data[_EVERY] = every
    application.job_queue.run_once(sync_due, when=first, name=SYNC_JOB)
    application.post_stop = _stopping_first(runner, application.post_stop)


async def sync_due(context: ContextTypes.DEFAULT_TYPE) -> None:
    """The job: run the due sources in a worker thread (one log line per source), then
    schedule the next run."""
    services = services_of(context)
    runner = context.bot_data[_RUNNER]
    assert isinstance(runner, SyncRunner)
    if runner.stop.stopped:
        return
    set_request_id()  # this run's log lines, in the job's own task
    try:
        await services.run(_run_locked, services, runner)
    except Exception:  # one bad run must not end the sync (the next one retries)
        log.exception("sync failed")
    if not runner.stop.stopped and context.job_queue is not None:
        context.job_queue.run_once(sync_due, when=context.bot_data[_EVERY], name=SYNC_JOB)


def _run_locked(services: Services, runner: SyncRunner) -> list[SourceReport]:
    with services.write_lock:
        return runner.run_due(lambda report: _observe(services, report))


def _observe(services: Services, report: SourceReport) -> None:
    log.info("sync: %s", report.line())
    services.metrics.synced(report)


def _stopping_first(
    runner: SyncRunner, then: Callable[[Any], Awaitable[None]] | None
) -> Callable[[Any], Awaitable[None]]:
    async def post_stop(application: Any) -> None:
        runner.stop.set()
        if then is not None:
            await then(application)

    return post_stop
