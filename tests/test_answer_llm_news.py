"""The news layer over the LLM answerer, against the local OpenAI-compatible server.

The prompt asks the model to date, attribute and flag disagreements; after the fact the
same checks as offline run on its answer: conflicting figures, syndicated copies, "as of".
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from retrieval.answer.base import Answerer
from retrieval.answer.prompts import REFUSAL
from retrieval.pipeline import make_answerer
from retrieval.store.index import ArticleIndex
from retrieval.types import Article, Turn
from tests.fakes import openai_server as fake_openai
from tests.fakes.openai_server import FakeOpenAIServer
from tests.news_corpus import (
    EASTBANK,
    HELPLINE,
    HERALD,
    OBSERVER,
    POST,
    TROOPS_Q,
    WIRE,
    hashed_index,
    news_articles,
)
from tests.test_answer_llm import llm_settings, messages, passage_number

openai_server = fake_openai.openai_server

BY_ID = {a.id: a for a in news_articles()}


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ArticleIndex]:
    index = hashed_index(tmp_path_factory.mktemp("news-llm"))
    yield index
    index.close()


@pytest.fixture
def answerer(tmp_path: Path, openai_server: FakeOpenAIServer, index: ArticleIndex) -> Answerer:
    return make_answerer(llm_settings(tmp_path, openai_server, top_k=5), index)


def numbers(answerer: Answerer, server: FakeOpenAIServer, question: str) -> dict[str, int]:
    """Ask once (unscripted: a refusal) to learn which number the prompt gives each article."""
    assert not answerer.answer(question).found
    request = server.chat_requests[-1]
    _, user = messages(request)
    return {
        aid: passage_number(request, a) for aid, a in BY_ID.items() if f"] {a.title} — " in user
    }


def test_prompt_asks_for_outlets_dates_and_disagreements(
    answerer: Answerer, openai_server: FakeOpenAIServer
) -> None:
    numbers(answerer, openai_server, TROOPS_Q)
    system, user = messages(openai_server.chat_requests[0])
    assert '"According to <outlet> (<date>), ... [n]"' in system
    assert 'say "as of <date>"' in system and "never pick one silently" in system
    assert f"] {BY_ID[HERALD].title} — Lowmere Herald, 2026-04-03" in user


def test_a_named_outlet_limits_the_passages_and_is_read_as_a_filter(
    answerer: Answerer, openai_server: FakeOpenAIServer
) -> None:
    question = "According to the Riverside Post, how many troops were sent to Greywell?"
    answer = answerer.answer(question)
    assert not answer.found  # unscripted: the model refuses
    assert answer.site == "Riverside Post"
    _, user = messages(openai_server.chat_requests[-1])
    assert user.endswith("Question: How many troops were sent to Greywell?")
    titles = {a.title for a in BY_ID.values() if f"] {a.title} — " in user}
    assert titles and titles <= {a.title for a in BY_ID.values() if a.site == "Riverside Post"}


def test_a_conflict_the_model_missed_is_added_with_both_citations(
    answerer: Answerer, openai_server: FakeOpenAIServer
) -> None:
    n = numbers(answerer, openai_server, TROOPS_Q)
    openai_server.enqueue_chat(
        f"According to Lowmere Herald (2026-04-03), about 2,000 troops [{n[HERALD]}]."
    )
    answer = answerer.answer(TROOPS_Q)
    assert answer.found
    [conflict] = answer.conflicts
    assert [(v.value, v.citations) for v in conflict.values] == [("2,500", (2,)), ("2,000", (1,))]
    assert [c.article.id for c in answer.citations] == [HERALD, POST]
    assert answer.text == (
        "According to Lowmere Herald (2026-04-03), about 2,000 troops [1].\n\n"
        "Sources differ on the number of troops: 2,500 according to Riverside Post (2026-04-05)"
        " [2]; 2,000 according to Lowmere Herald (2026-04-03) [1]. The newest report, from"
        " 2026-04-05, says 2,500."
    )
    assert answer.to_dict()["conflicts"] == [
        {
            "what": "number of troops",
            "values": [{"value": "2,500", "citations": [2]}, {"value": "2,000", "citations": [1]}],
        }
    ]


def test_a_conflict_the_model_reported_is_recorded_not_repeated(
    answerer: Answerer, openai_server: FakeOpenAIServer
) -> None:
    n = numbers(answerer, openai_server, TROOPS_Q)
    reply = (
        f"As of 2026-04-05 the sources differ: the Riverside Post says 2,500 troops [{n[POST]}],"
        f" the Lowmere Herald says about 2,000 troops were sent [{n[HERALD]}]."
    )
    openai_server.enqueue_chat(reply)
    answer = answerer.answer(TROOPS_Q)
    assert "Sources differ" not in answer.text and answer.text.startswith("As of 2026-04-05")
    assert len(answer.conflicts) == 1 and len(answer.citations) == 2


def test_claims_of_several_dates_get_as_of(
    answerer: Answerer, openai_server: FakeOpenAIServer
) -> None:
    question = "Is the Hollin road still closed?"
    n = numbers(answerer, openai_server, question)
    openai_server.enqueue_chat(
        f"The Hollin road was closed [{n[HERALD]}] and will reopen next Monday [{n[EASTBANK]}]."
    )
    answer = answerer.answer(question)
    assert answer.text.endswith(
        "(As of 2026-04-16, the date of the newest cited report; the oldest is from 2026-04-03.)"
    )


def test_a_syndicated_passage_is_one_source_listing_the_copy(
    answerer: Answerer, openai_server: FakeOpenAIServer
) -> None:
    question = "What are the divers using to repair the spillway?"
    n = numbers(answerer, openai_server, question)
    assert OBSERVER not in n  # the retriever already collapsed the copy's passage
    openai_server.enqueue_chat(f"A fast-setting marine concrete [{n[WIRE]}].")
    [citation] = answerer.answer(question).citations
    assert citation.article.id == WIRE
    assert [(a.article_id, a.site, str(a.published)) for a in citation.also_ran] == [
        (OBSERVER, "Greywell Observer", "2026-04-10")
    ]


def test_then_keeps_the_date_window_of_the_conversation(
    answerer: Answerer, openai_server: FakeOpenAIServer
) -> None:
    history = [Turn(TROOPS_Q, "As of 2026-04-03, Lowmere Herald reported about 2,000 troops.")]
    rewritten = "When would the last soldiers leave Greywell, around 2026-04-03?"
    openai_server.enqueue_structured({"question": rewritten})
    openai_server.enqueue_chat("Not before May 2 [1].")
    answer = answerer.answer("And when would the last soldiers leave then?", history)
    [analysis] = openai_server.structured_requests
    [reply] = openai_server.chat_requests
    system, user = messages(analysis)
    assert 'points back in time ("then", "at the time")' in system
    assert "Assistant: As of 2026-04-03, Lowmere Herald reported" in user
    _, prompt = messages(reply)
    assert "Eastbank Daily" not in prompt  # 2026-04-16 is outside the window
    assert "Riverside Post, 2026-04-05" in prompt
    assert answer.question == rewritten and answer.citations[0].article.id == POST


def test_written_timeline_is_ordered_and_dated_by_the_articles(
    answerer: Answerer, openai_server: FakeOpenAIServer
) -> None:
    openai_server.enqueue_chat(
        "2026-04-16 — Residents went home [4]\n"
        "1999-01-01 — A crack was found in the spillway [1]\n"
        "no date — A helpline opened [5]\n"
        "2026-04-09 — Repairs began [3][9]"
    )
    answer = answerer.timeline("Hollin Dam")
    [request] = openai_server.chat_requests
    system, user = messages(request)
    assert "one line per event, oldest first" in system and user.rstrip().endswith(
        "Topic: Hollin Dam"
    )
    assert [(str(e.when), e.text) for e in answer.events] == [
        ("2026-04-03", "A crack was found in the spillway"),
        ("2026-04-09", "Repairs began"),
        ("2026-04-16", "Residents went home"),
        ("None", "A helpline opened"),
    ]
    assert [c.article.id for c in answer.citations] == [HERALD, WIRE, EASTBANK, HELPLINE]
    assert answer.citations[1].also_ran[0].article_id == OBSERVER
    assert (
        answer.text.splitlines()[1]
        == "2026-04-03 · Lowmere Herald: A crack was found in the spillway [1]"
    )


@pytest.mark.parametrize("reply", [REFUSAL, "Things happened.", "2026-04-03 — A crack [8]"])
def test_an_unusable_written_timeline_falls_back_to_the_quotes(
    answerer: Answerer, openai_server: FakeOpenAIServer, reply: str
) -> None:
    openai_server.enqueue_chat(reply)
    answer = answerer.timeline("Hollin Dam")
    assert [c.article.id for c in answer.citations] == [HERALD, POST, WIRE, EASTBANK, HELPLINE]
    first: Article = answer.citations[0].article
    assert answer.events[0].text == answer.citations[0].quote and first.text.startswith(
        answer.events[0].text
    )


def test_the_stream_ends_with_the_finished_answer(
    answerer: Answerer, openai_server: FakeOpenAIServer
) -> None:
    n = numbers(answerer, openai_server, TROOPS_Q)
    openai_server.enqueue_chat(f"About 2,000 troops [{n[HERALD]}].")
    *pieces, final = list(answerer.stream(TROOPS_Q))
    assert "".join(str(p) for p in pieces) == f"About 2,000 troops [{n[HERALD]}]."
    assert not isinstance(final, str) and final.conflicts and "Sources differ" in final.text
