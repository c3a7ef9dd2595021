"""The one interface every front end calls, and the one step an answerer varies in.

Front ends call an `Answerer` (`retrieval/pipeline.py` builds it). Every answer is made the
same way: the question is read, searched once, and a `Composer` writes the answer from that
retrieval: the offline composer, which needs no LLM and no key, quotes the articles; the
LangChain chain over an OpenAI-compatible chat model writes its own text. What follows
(news steps, citations checked) does not depend on which one wrote it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from retrieval.search.followup import FollowUp
from retrieval.types import Answer, Hit, SearchFilters, Turn

if TYPE_CHECKING:
    from retrieval.search.retriever import Retrieval


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

    @abstractmethod
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

    @abstractmethod
    def timeline(
        self,
        topic: str,
        history: Sequence[Turn] = (),
        filters: SearchFilters | None = None,
    ) -> Answer:
        """The dated events about `topic`, oldest first (`Answer.events`)."""


@dataclass(frozen=True, slots=True)
class Draft:
    """A composer's answer before the steps that follow it.

    `answer.text` is the composer's text. When `written` is False the text is the quotes
    themselves (the offline composer): the steps may re-write it from the citations, led
    by `lead` (the item asked for: "Jory Pellam", "May 18"). A written text (an LLM's) is
    kept; the steps only check and annotate it.
    """

    answer: Answer
    lead: str | None = None
    written: bool = False


class Composer(ABC):
    """Writes an answer from one retrieval."""

    def read(
        self,
        reading: FollowUp,
        history: Sequence[Turn],
        filters: SearchFilters,
        sites: Sequence[str],
    ) -> tuple[FollowUp, SearchFilters]:
        """The offline reading of the question and its filters, with what this composer
        adds to them (the LLM's structured reading); the offline composer adds nothing."""
        return reading, filters

    @abstractmethod
    def compose(self, retrieval: Retrieval, filters: SearchFilters) -> Draft:
        """The answer to `retrieval.search.question`, from `retrieval`'s passages only."""

    def stream(self, retrieval: Retrieval, filters: SearchFilters) -> Iterator[str | Draft]:
        """Text pieces as they are written, then the `Draft` (last item)."""
        draft = self.compose(retrieval, filters)
        yield draft.answer.text
        yield draft

    def write_timeline(self, topic: str, hits: Sequence[Hit]) -> Answer | None:
        """A written timeline of `topic` from date-ordered passages, or None to let the
        articles' own event sentences make it (`news/timeline.extractive`)."""
        return None
