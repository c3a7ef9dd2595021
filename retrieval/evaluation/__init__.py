"""Measuring answers: the labelled question sets (`qa`) and the news behaviours (`news_checks`).

Indexing is given by the caller (the command line passes ingest's), so retrieval never
imports ingest.
"""
