"""Build the answerer the settings ask for."""

from __future__ import annotations

import time
from collections.abc import Callable

from retrieval.answer.base import Answerer
from retrieval.answer.fallback import OfflineFallback
from retrieval.answer.offline import OfflineAnswerer
from retrieval.news.layer import NewsAnswerer, NewsRetriever
from retrieval.search.retriever import HybridRetriever, Mode
from retrieval.settings import Settings
from retrieval.store.index import ArticleIndex


def make_answerer(
    settings: Settings,
    index: ArticleIndex,
    mode: Mode = "hybrid",
    clock: Callable[[], float] = time.monotonic,
) -> Answerer:
    """The LLM answerer when one is configured, else the offline one; news-aware by default.

    In auto mode the LLM's answerer falls back to the offline one while the LLM's server
    cannot be reached (`retrieval/answer/fallback.py`; `clock` times its pause).
    """
    if not settings.news_aware:
        retriever: HybridRetriever = HybridRetriever(index, mode)
        offline: Answerer = OfflineAnswerer(
            retriever, history_turns=settings.history_turns, news=False
        )
        if not settings.use_llm:
            return offline
        from retrieval.answer.llm import LLMAnswerer

        return _with_fallback(settings, LLMAnswerer(retriever, settings), offline, clock)
    news = NewsRetriever(index, mode)
    turns = settings.history_turns
    offline = NewsAnswerer(
        OfflineAnswerer(news, history_turns=turns, news=True),
        news,
        quoting=True,
        top_k=settings.top_k,
        history_turns=turns,
    )
    if not settings.use_llm:
        return offline
    from retrieval.answer.llm import LLMAnswerer

    llm = LLMAnswerer(news, settings)
    answerer = NewsAnswerer(
        llm,
        news,
        quoting=False,
        top_k=settings.top_k,
        history_turns=turns,
        writer=llm.write_timeline,
    )
    return _with_fallback(settings, answerer, offline, clock)


def _with_fallback(
    settings: Settings, llm: Answerer, offline: Answerer, clock: Callable[[], float]
) -> Answerer:
    """Auto mode answers offline while the LLM is unreachable; `llm` mode never does."""
    if settings.answerer != "auto":
        return llm
    return OfflineFallback(llm, offline, retry_seconds=settings.llm_retry_seconds, clock=clock)
