"""Build the answerer the settings ask for."""

from __future__ import annotations

from retrieval.answer import Answerer
from retrieval.answer_offline import OfflineAnswerer
from retrieval.index import ArticleIndex
from retrieval.news import NewsAnswerer, NewsRetriever
from retrieval.retriever import HybridRetriever, Mode
from retrieval.settings import Settings


def make_answerer(settings: Settings, index: ArticleIndex, mode: Mode = "hybrid") -> Answerer:
    """The LLM answerer when one is configured, else the offline one; news-aware by default."""
    if not settings.news_aware:
        return _plain(settings, HybridRetriever(index, mode))
    retriever = NewsRetriever(index, mode)
    turns = settings.history_turns
    if settings.use_llm:
        from retrieval.answer_llm import LLMAnswerer

        llm = LLMAnswerer(retriever, settings)
        return NewsAnswerer(
            llm,
            retriever,
            quoting=False,
            top_k=settings.top_k,
            history_turns=turns,
            writer=llm.write_timeline,
        )
    offline = OfflineAnswerer(retriever, history_turns=turns, news=True)
    return NewsAnswerer(offline, retriever, quoting=True, top_k=settings.top_k, history_turns=turns)


def _plain(settings: Settings, retriever: HybridRetriever) -> Answerer:
    if settings.use_llm:
        from retrieval.answer_llm import LLMAnswerer

        return LLMAnswerer(retriever, settings)
    return OfflineAnswerer(retriever, history_turns=settings.history_turns, news=False)
