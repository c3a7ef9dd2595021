"""Build the answerer the settings ask for."""

from __future__ import annotations

from retrieval.answer import Answerer
from retrieval.answer_offline import OfflineAnswerer
from retrieval.index import ArticleIndex
from retrieval.retriever import HybridRetriever, Mode
from retrieval.settings import Settings


def make_answerer(settings: Settings, index: ArticleIndex, mode: Mode = "hybrid") -> Answerer:
    """The LLM answerer when one is configured, else the offline one."""
    retriever = HybridRetriever(index, mode)
    if settings.use_llm:
        from retrieval.answer_llm import LLMAnswerer

        return LLMAnswerer(retriever, settings)
    return OfflineAnswerer(retriever, history_turns=settings.history_turns)
