"""The LLM composer: a LangChain chain (prompt | chat model | parser) over any
OpenAI-compatible server.

It adds its own reading of the question to the offline one (`read`): the model's structured
output (`followup.Analysis`: a standalone English question, the outlet and dates it names,
recency; one LLM call), each part checked and merged, the offline reading standing when the
model's fails. With no retrieved passage the answer is `REFUSAL` and the model is not
called; else the model answers from the numbered passages. Its [n] markers are then
checked: markers that point at no passage are dropped and reported, the used passages
renumbered 1..m in order of first use, and each cited with the article sentences that best
support the claims carrying its marker (cut from the stored text, never copied from the
model). An answer left with no valid citation becomes `REFUSAL` with found=False and the
model's text is dropped: in a bot that promises citations, an uncited claim would look
sourced when it is not.

Failures become a one-line `LLMError` naming the host and HTTP status, never the key;
retries (429, 5xx, timeouts) are the openai client's own (``max_retries``, with backoff).
"""

from __future__ import annotations

import atexit
import functools
import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from typing import Any, TypeVar

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import SystemMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import Runnable
from pydantic import SecretStr

from retrieval.answer.base import Composer, Draft
from retrieval.answer.citations import make_citation
from retrieval.answer.prompts import (
    ANALYSIS_SYSTEM,
    ANALYSIS_USER,
    ANSWER_SYSTEM,
    ANSWER_USER,
    MARKER,
    REFUSAL,
    TIMELINE_SYSTEM,
    TIMELINE_USER,
    format_passages,
    is_refusal,
    marker_numbers,
    renumber_markers,
)
from retrieval.answer.settings import AnswerSettings
from retrieval.errors import ConfigError, LLMError, LLMUnreachableError
from retrieval.openai_errors import could_not_connect, describe_failure, server_host
from retrieval.search.followup import Analysis, FollowUp, with_analysis
from retrieval.search.retriever import Retrieval
from retrieval.search.scoring import QueryTerms, sentence_score, stems
from retrieval.search.sentences import sentence_spans
from retrieval.store.index import ArticleIndex
from retrieval.types import Answer, Citation, Hit, SearchFilters, Turn

log = logging.getLogger(__name__)
_T = TypeVar("_T")

#: Sent as the bearer token to a local server that needs no key (the client wants one).
NO_KEY = "not-needed"
_MAX_QUOTE = 300  # a quote spanning several sentences longer than this keeps the best one


class LLMComposer(Composer):
    """Answer with an OpenAI-compatible chat model, citing verified verbatim passages."""

    def __init__(
        self,
        index: ArticleIndex,
        settings: AnswerSettings,
        chat_model: BaseChatModel | None = None,
    ) -> None:
        self.index = index
        self.settings = settings
        base_url = settings.openai_base_url
        self._host = server_host(base_url)
        key = settings.openai_api_key
        self._secret = key.get_secret_value() if key is not None else ""
        model = chat_model if chat_model is not None else _chat_model(settings)
        parser = StrOutputParser()
        answer_prompt = ChatPromptTemplate.from_messages(
            [SystemMessage(content=ANSWER_SYSTEM), ("human", ANSWER_USER)]
        )
        analysis_prompt = ChatPromptTemplate.from_messages(
            [SystemMessage(content=ANALYSIS_SYSTEM), ("human", ANALYSIS_USER)]
        )
        timeline_prompt = ChatPromptTemplate.from_messages(
            [SystemMessage(content=TIMELINE_SYSTEM), ("human", TIMELINE_USER)]
        )
        self._answer_chain: Runnable[dict[str, str], str] = answer_prompt | model | parser
        self._analysis_chain: Runnable[dict[str, str], Any] | None = None
        try:  # response_format with a JSON schema (ChatOpenAI's default method)
            self._analysis_chain = analysis_prompt | model.with_structured_output(Analysis)
        except NotImplementedError:  # LangChain's answer for a chat model that can't: read offline
            log.info("%s has no structured output: questions are read offline", type(model))
        self._timeline_chain: Runnable[dict[str, str], str] = timeline_prompt | model | parser

    def read(
        self,
        reading: FollowUp,
        history: Sequence[Turn],
        filters: SearchFilters,
        sites: Sequence[str],
    ) -> tuple[FollowUp, SearchFilters]:
        """The offline reading with the model's checked and merged into it."""
        return with_analysis(reading, self._analyse(reading.question, history), filters, sites)

    def compose(self, retrieval: Retrieval, filters: SearchFilters) -> Draft:
        """Answer from the retrieved passages, or say plainly that they don't."""
        standalone, hits = retrieval.question.text, retrieval.hits
        if not hits:
            return Draft(Answer(REFUSAL, (), False, standalone, retrieval=retrieval), written=True)
        text = self._call(lambda: self._answer_chain.invoke(_inputs(standalone, hits)))
        answer = replace(self._finish(text, hits, standalone), retrieval=retrieval)
        return Draft(answer, written=True)

    def stream(self, retrieval: Retrieval, filters: SearchFilters) -> Iterator[str | Draft]:
        """Yield the model's text as it arrives, then the checked `Draft`."""
        standalone, hits = retrieval.question.text, retrieval.hits
        if not hits:
            yield REFUSAL
            yield Draft(Answer(REFUSAL, (), False, standalone, retrieval=retrieval), written=True)
            return
        pieces: list[str] = []
        chunks = self._call(lambda: iter(self._answer_chain.stream(_inputs(standalone, hits))))
        while (piece := self._call(lambda: next(chunks, None))) is not None:
            if piece:
                pieces.append(piece)
                yield piece
        answer = replace(self._finish("".join(pieces), hits, standalone), retrieval=retrieval)
        yield Draft(answer, written=True)

    def write_timeline(self, topic: str, hits: Sequence[Hit]) -> Answer:
        """The model's timeline of `topic` from date-ordered passages, its markers checked.

        One "date — event [n]" line per event; the news steps (`retrieval/news/timeline.py`)
        take the dates from the cited articles, not from the model.
        """
        inputs = {"passages": format_passages(hits), "topic": topic}
        text = self._call(lambda: self._timeline_chain.invoke(inputs))
        return self._finish(text, hits, topic)

    # --- steps -------------------------------------------------------------------------------
    def _analyse(self, question: str, history: Sequence[Turn]) -> Analysis | None:
        """The model's reading of the question, or None (no structured output, or a failed
        or malformed reply: the offline reading stands). An unreachable server is raised: no
        answer can be written either, and auto mode answers offline at once."""
        chain = self._analysis_chain
        if chain is None:
            return None
        lines = []
        for turn in history:
            lines += [f"User: {turn.question}", f"Assistant: {MARKER.sub('', turn.answer)}"]
        inputs = {"history": "\n".join(lines) or "(none)", "question": question}
        try:
            reply = self._call(lambda: chain.invoke(inputs))
        except LLMUnreachableError:
            raise
        except LLMError as exc:
            log.warning("question analysis failed, read offline: %s", exc)
            return None
        return reply if isinstance(reply, Analysis) else None

    def _finish(self, text: str, hits: Sequence[Hit], question: str) -> Answer:
        """Check the model's markers and attach verified citations."""
        text = text.strip()
        if not text or is_refusal(text):
            return Answer(REFUSAL, (), False, question)
        terms = QueryTerms.of(question, self.index.lexical())
        claims = _claims(text)  # passage number -> claims, in order of first use
        used = [n for n in claims if 1 <= n <= len(hits)]
        dropped = [n for n in claims if not 1 <= n <= len(hits)]
        numbers: dict[int, int] = {}  # passage index (1-based) -> citation number
        by_span: dict[tuple[str, int, int], int] = {}
        citations: list[Citation] = []
        for index in used:
            hit = hits[index - 1]
            start, end = self._support(hit, claims.get(index, []), terms)
            key = (hit.article.id, start, end)
            if key in by_span:  # two chunks of one article quoting the same sentences
                numbers[index] = by_span[key]
                continue
            citation = make_citation(len(citations) + 1, hit.article, start, end)
            if citation is None:
                dropped.append(index)
                continue
            citations.append(citation)
            numbers[index] = by_span[key] = citation.n
        dropped_markers = tuple(dict.fromkeys(dropped))
        if not citations:
            log.debug("no valid citation in the model's answer: refusing")
            return Answer(REFUSAL, (), False, question, dropped_markers)
        return Answer(
            renumber_markers(text, numbers), tuple(citations), True, question, dropped_markers
        )

    def _support(self, hit: Hit, claims: list[str], question: QueryTerms) -> tuple[int, int]:
        """The span of the passage's sentences that best support `claims` (or the question)."""
        text, lexical = hit.article.text, self.index.lexical()
        spans = sentence_spans(text, hit.chunk.start, hit.chunk.end) or [
            (hit.chunk.start, hit.chunk.end)
        ]
        chosen: dict[int, float] = {}
        for claim in dict.fromkeys(claims):
            terms = QueryTerms.of(claim, lexical)
            scores = [sentence_score(terms, text[s:e]) for s, e in spans]
            best = max(range(len(spans)), key=scores.__getitem__)
            if scores[best] > 0:
                chosen[best] = max(chosen.get(best, 0.0), scores[best])
        if not chosen:
            scores = [sentence_score(question, text[s:e]) for s, e in spans]
            best = max(range(len(spans)), key=scores.__getitem__)
            return spans[best]
        first, last = spans[min(chosen)], spans[max(chosen)]
        if last[1] - first[0] <= _MAX_QUOTE:
            return first[0], last[1]
        return spans[max(chosen, key=chosen.__getitem__)]

    def _call(self, step: Callable[[], _T]) -> _T:
        """Run one model step, turning any failure of the model or server into `LLMError`."""
        try:
            return step()
        except Exception as exc:  # the openai client's errors, or a malformed reply
            if could_not_connect(exc):
                raise LLMUnreachableError(self._describe(exc)) from None
            raise LLMError(self._describe(exc)) from None

    def _describe(self, exc: BaseException) -> str:
        """One line saying what went wrong, safe to show and log (no key, no server dump)."""
        return describe_failure(
            exc,
            where=f"chat request to {self._host} ({self.settings.llm_model})",
            timeout=self.settings.openai_timeout,
            retries=self.settings.openai_max_retries,
            not_found_hint="check ARTICLEBOT_LLM_MODEL and OPENAI_BASE_URL",
            malformed=(
                f"malformed chat reply from {self._host} ({type(exc).__name__}); check the server."
            ),
            secret=self._secret,
        )


def _chat_model(settings: AnswerSettings) -> BaseChatModel:
    """`ChatOpenAI` from settings; a base URL without a key gets a dummy key (local servers)."""
    key = settings.openai_api_key
    if key is not None and not key.get_secret_value().strip():
        key = None
    if key is None and settings.openai_base_url is None:
        raise ConfigError(
            "the LLM answerer needs OPENAI_API_KEY (or OPENAI_BASE_URL for a compatible"
            " server); set one, or use ARTICLEBOT_ANSWERER=offline."
        )
    from langchain_openai import ChatOpenAI
    from openai import Timeout

    # Everything is passed explicitly so nothing is picked up from OPENAI_* variables
    # behind the AnswerSettings object's back.
    return ChatOpenAI(
        model=settings.llm_model,
        temperature=settings.llm_temperature,
        api_key=key if key is not None else SecretStr(NO_KEY),
        base_url=settings.openai_base_url,
        organization=None,
        openai_proxy=None,
        timeout=Timeout(settings.openai_timeout, connect=settings.llm_connect_timeout),
        max_retries=settings.openai_max_retries,
        http_client=_shared_http_client(),
    )


@functools.cache
def _shared_http_client() -> Any:
    """One connection pool for every chat model of the process.

    langchain-openai shares its default client only for a hashable timeout; ours has a
    connect part (`openai.Timeout`, unhashable), so each model would get a client of its
    own that nothing closes (its sockets left to the garbage collector). The timeout of
    each request is still the model's own. Closed when the process exits."""
    from openai import DefaultHttpxClient

    client = DefaultHttpxClient()
    atexit.register(client.close)
    return client


def _inputs(question: str, hits: Sequence[Hit]) -> dict[str, str]:
    """The answer prompt's variables: passages and question are filled in, never parsed."""
    return {"passages": format_passages(hits), "question": question}


def _claims(text: str) -> dict[int, list[str]]:
    """For each cited passage, the words of the answer that its markers vouch for.

    That is the text since the previous marker of the same sentence (adjacent markers share
    it), or the whole sentence when that text has no content word.
    """
    spans = sentence_spans(text)
    claims: dict[int, list[str]] = {}
    current, since, last = -1, 0, ""
    for match in MARKER.finditer(text):
        at = match.start(2) - 1  # the "["
        index = next((i for i, (s, e) in enumerate(spans) if s <= at < e), 0)
        if index > 0 and not MARKER.sub("", text[spans[index][0] : at]).strip():
            index -= 1  # "Claim. [1] Next claim": the marker closes the previous sentence
        if index != current:
            current, since, last = index, spans[index][0], ""
        piece = MARKER.sub("", text[since:at]).strip() or last
        since, last = match.end(), piece
        if not stems(piece):
            piece = MARKER.sub("", text[spans[index][0] : spans[index][1]]).strip()
        for n in marker_numbers(match.group(2)):
            claims.setdefault(n, []).append(piece)
    return claims
