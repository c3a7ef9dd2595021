"""Operating the bot: health and readiness probes, Prometheus metrics, structured logs.

Only the front ends (`bot/`) use it: `retrieval/` and `ingest/` stay free of it, and the
numbers come from the results and reports they already return.
"""
