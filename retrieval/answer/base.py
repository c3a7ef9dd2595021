"""The one interface every front end calls to answer a question.

Two implementations, chosen by settings (`make_answerer`): the offline composer, which
needs no LLM and no key, and the LangChain chain over an OpenAI-compatible chat model.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence

from retrieval.types import Answer, SearchFilters, Turn


class Answerer(ABC):
    """Answers a question from the index, citing the passages it used."""

    @abstractmethod
    def answer(
        self,
        question: str,
        history: Sequence[Turn] = (),
        filters: SearchFilters | None = None,
    ) -> Answer:
        """Answer `question` (a follow-up is read in the light of `history`)."""

    def stream(
        self,
        question: str,
        history: Sequence[Turn] = (),
        filters: SearchFilters | None = None,
    ) -> Iterator[str | Answer]:
        """Yield text pieces as they are produced, then the final `Answer` (last item).

        The pieces may still contain markers that the final answer drops; front ends show
        the pieces as a preview and then replace them with the final answer.
        """
        result = self.answer(question, history, filters)
        yield result.text
        yield result

    def timeline(
        self,
        topic: str,
        history: Sequence[Turn] = (),
        filters: SearchFilters | None = None,
    ) -> Answer:
        """The dated events about `topic`, oldest first (`Answer.events`).

        The news layer (`retrieval/news/layer.py`) builds real timelines; an answerer without it
        just answers "What happened with <topic>?".
        """
        from retrieval.news.timeline import timeline_question  # it imports this module

        return self.answer(timeline_question(topic), history, filters)
