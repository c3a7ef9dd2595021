"""Keeping a collection current: watched sources synced on a schedule (`articlebot watch`).

`interval` parses "15m"; `clock` is the time the scheduler sees (injected in tests);
`backoff` decides when a source runs next; `web` and `folder` sync one source through the
ordinary ingest machinery; `runner` runs the due sources under a lease; `schedule` loops.
"""
