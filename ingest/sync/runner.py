"""Run the due sources once: lease, sync through the ingest pipeline, record, release.

Each source is leased in the catalog before it is fetched (a write transaction that also
re-checks it is due), so two watch processes on one data directory never fetch the same
source at once, and once one has run it the other finds it no longer due. A failure of
the source itself (a 500, a timeout, a folder gone) is stored with its reason and puts
the source's next run off by exponential backoff; failures of single entries are reported
and retried next run. A stop request releases the lease and leaves the source due.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx

from ingest.chunk import Chunker
from ingest.extract import Extractor
from ingest.fetch import Fetcher, without_userinfo
from ingest.settings import IngestSettings
from ingest.sync.backoff import Random, after_failure, after_success
from ingest.sync.clock import Clock
from ingest.sync.context import EndRun, SourceRun
from ingest.sync.folder import sync_folder
from ingest.sync.report import SourceReport
from ingest.sync.stop import Cancelled, StopSignal
from ingest.sync.web import WebResult, sync_web
from retrieval.errors import ArticlebotError, SourceError
from retrieval.store.index import ArticleIndex
from retrieval.store.owners import new_owner, owner_is_dead
from retrieval.store.sources import Source, SourceStore
from retrieval.types import Progress

#: A lease outlives the source's deadline by this much (the writes after the last fetch).
LEASE_MARGIN = 120.0


class SyncRunner:
    """Runs due sources through the index; one per watch process (or bot)."""

    def __init__(
        self,
        index: ArticleIndex,
        settings: IngestSettings,
        *,
        clock: Clock,
        rng: Random,
        stop: StopSignal | None = None,
        owner: str | None = None,
        keep_deleted: bool = False,
        every_source: bool = False,
        progress: Progress | None = None,
        allow_private_addresses: bool = False,
    ) -> None:
        """every_source: run every source now, due or not (`watch --once --all`).
        allow_private_addresses: no address guard at all (tests, benchmarks); a source
        added with --allow-private trusts its own host either way."""
        self.index = index
        self.settings = settings
        self.store = SourceStore(index.catalog)
        self.clock = clock
        self.rng = rng
        self.stop = stop or StopSignal()
        self.owner = owner or new_owner()
        self.keep_deleted = keep_deleted
        self.every_source = every_source
        self.progress = progress
        self._allow_private = allow_private_addresses
        self._chunker = Chunker(settings.chunk_size, settings.chunk_overlap)
        self._lease = settings.sync_source_timeout + LEASE_MARGIN
        self._client: httpx.Client | None = None

    def run_due(
        self, on_report: Callable[[SourceReport], None] | None = None
    ) -> list[SourceReport]:
        """Run every source due now (skipping those another process holds); their reports.

        on_report: called as each source finishes (a summary line as it happens)."""
        self._finish_interrupted()
        self._break_dead_leases()
        reports: list[SourceReport] = []
        # One HTTP client for the whole pass: making one loads the CA certificates (~30 ms),
        # which would be most of the cost of a source that answers 304.
        self._client = httpx.Client(follow_redirects=False)
        try:
            for source in self.store.due(self.clock.now(), force=self.every_source):
                if self.stop.stopped:
                    break
                report = self.run_one(source.id)
                if report is not None:
                    reports.append(report)
                    if on_report is not None:
                        on_report(report)
        finally:
            self._client.close()
            self._client = None
            if any(r.changed for r in reports):
                self.index.finish_run()
        return reports

    def run_one(self, source_id: int) -> SourceReport | None:
        """Lease and run one source if it is due and free; None if it is not."""
        now = self.clock.now()
        source = self.store.try_lease(
            source_id, self.owner, now=now, seconds=self._lease, force=self.every_source
        )
        if source is None:
            return None
        report = SourceReport(
            source.id, source.name, source.kind, without_userinfo(source.location)
        )
        started = time.monotonic()
        try:
            self._run(source, report, started)
        except BaseException:  # Cancelled, KeyboardInterrupt, a bug: the source stays due
            report.status = "stopped"
            self.store.release(source.id, self.owner)
            raise
        finally:
            report.seconds = time.monotonic() - started
        return report

    def _run(self, source: Source, report: SourceReport, started: float) -> None:
        settings = self.settings
        trusted = [source.location] if source.allow_private and source.is_web else []
        result: WebResult | None = None
        try:
            with (
                Fetcher(
                    settings,
                    client=self._client,
                    trusted_urls=trusted,
                    allow_private_addresses=self._allow_private,
                ) as fetcher,
                Extractor(settings.extract_timeout) as extractor,
            ):
                run = SourceRun(
                    source=source,
                    index=self.index,
                    settings=settings,
                    store=self.store,
                    fetcher=fetcher,
                    extractor=extractor,
                    chunker=self._chunker,
                    report=report,
                    stop=self.stop,
                    deadline=started + settings.sync_source_timeout,
                    renew=lambda: self._renew(source),
                    progress=self.progress,
                    keep_deleted=self.keep_deleted,
                )
                if source.is_web:
                    result = sync_web(run)
                else:
                    sync_folder(run)
        except EndRun as exc:
            report.status, report.error = "stopped", str(exc)
            if self.stop.stopped:
                self.store.release(source.id, self.owner)  # due again at the next start
            else:
                self._failed(source, report, str(exc))
            return
        except SourceError as exc:
            report.status = "failed"
            self._failed(source, report, exc.reason)
            return
        except ArticlebotError as exc:  # the index failed (a Chroma server down...): this
            report.status = "failed"  # source is retried later, the others go on
            self._failed(source, report, str(exc))
            return
        self._succeeded(source, report, result)

    def _succeeded(self, source: Source, report: SourceReport, result: WebResult | None) -> None:
        now = self.clock.now()
        report.next_run = now + after_success(source.interval, self.rng)
        fetched = result.fetched if result is not None else None
        if result is not None:
            report.kind = result.kind
        self.store.succeeded(
            source.id,
            self.owner,
            now=now,
            next_run=report.next_run,
            added=report.ingest.added,
            kind=result.kind if result is not None else None,
            etag=fetched.etag if fetched else None,
            last_modified=fetched.last_modified if fetched else None,
            # Keep the old validators after a failed entry: the next run then fetches
            # the feed again and retries it (the entries already stored are skipped).
            validators=fetched is not None and not fetched.not_modified and report.ingest.ok,
        )

    def _failed(self, source: Source, report: SourceReport, reason: str) -> None:
        now = self.clock.now()
        delay = after_failure(
            source.failures + 1, source.interval, self.settings.sync_max_backoff, self.rng
        )
        report.error, report.next_run = reason, now + delay
        self.store.failed(
            source.id,
            self.owner,
            now=now,
            next_run=report.next_run,
            reason=reason,
            added=report.ingest.added,
        )

    def _renew(self, source: Source) -> None:
        if not self.store.renew(source.id, self.owner, self._lease):
            raise EndRun("the source's lease was lost (another watch process took it over)")

    def _break_dead_leases(self) -> None:
        """Free the leases of processes on this host that are gone (kill -9, a crash), so
        their sources need not wait for the lease to expire."""
        now = self.store.catalog.now()  # leases run on the database's clock
        for source in self.store.all():
            owner = source.lease_owner
            if owner and (source.lease_expires or 0) > now and owner_is_dead(owner):
                self.store.release(source.id, owner)

    def _finish_interrupted(self) -> None:
        """Finish what a killed run left (articles pending, removals started), as ingest
        does; a no-op costing two small queries when there is none."""
        catalog = self.index.catalog
        total, indexed, _ = catalog.counts()
        if total != indexed or catalog.removals():
            self.index.resume()


__all__ = ["Cancelled", "SyncRunner"]
