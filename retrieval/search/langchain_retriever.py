"""The hybrid retriever as a LangChain `BaseRetriever`.

Kept apart from `retrieval.search.retriever` because importing LangChain's retriever machinery
costs about a second, which `articlebot ask` (a new process per question) should not pay.
"""

from __future__ import annotations

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever

from retrieval.search.retriever import HybridRetriever
from retrieval.types import SearchFilters


class ArticlesRetriever(BaseRetriever):
    """The hybrid retriever as a LangChain `BaseRetriever`, for use in any LangChain chain.

    Each `Document` holds the chunk text; its metadata has the article's id, title, site,
    published date, URL, the chunk's offsets and the scores.
    """

    retriever: HybridRetriever
    filters: SearchFilters = SearchFilters()

    model_config = {"arbitrary_types_allowed": True}

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        hits = self.retriever.search(query, self.filters)
        return [Document(page_content=h.chunk.text, metadata=h.to_dict()) for h in hits]
