"""Follow-ups read once (`retrieval/search/followup.py`): offline, and with the model's structured
reading of the question through the real LangChain/openai clients against the local
OpenAI-compatible server."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from bot.settings import Settings
from ingest import ingest_articles
from ingest.sources import load_sources
from retrieval.answer.base import Answerer
from retrieval.pipeline import make_answerer
from retrieval.search.followup import Analysis, FollowUp, Lexicon, follow_up, with_analysis
from retrieval.store.entity_store import Names
from retrieval.store.index import ArticleIndex
from retrieval.types import Article, SearchFilters, Turn
from tests.conftest import SAMPLES_DIR
from tests.fakes import openai_server as fake_openai
from tests.fakes.openai_server import FakeOpenAIServer, RecordedRequest, ScriptedResponse
from tests.test_answer_llm import llm_settings, messages

openai_server = fake_openai.openai_server

# A lexicon as an index of news about a bridge and a battery maker would give it.
NAMES = Names(
    {
        "the Sallow Street Bridge": 3,
        "Corvane Materials": 2,
        "Corvane": 1,
        "Linnea Sorvald": 1,
        "Valley Wire": 1,  # an outlet named in a text: never a topic
        "Eastmere County Council": 2,
        "Anwen Price-Lisle": 1,  # a surname that is also a common noun
    }
)
VOCABULARY = {
    "bridge",
    "cost",
    "chief",
    "plant",
    "job",
    "reopen",
    "contract",
    "according",
    "harbour",
}
LEXICON = Lexicon(
    names=NAMES,
    known=lambda word: word.lower().rstrip("s") in VOCABULARY or NAMES.has_word(word.lower()),
    sites=("Valley Wire", "The Harbour Ledger"),
)
CORVANE_Q = "Who is the chief executive of Corvane Materials?"
BRIDGE_Q = "When will the Sallow Street Bridge reopen?"


def read(question: str, *questions: str) -> FollowUp:
    """`question` after the earlier `questions` (answered without names)."""
    return follow_up(question, [Turn(q, "An answer.") for q in questions], LEXICON)


# -- offline ---------------------------------------------------------------------------------


def test_a_follow_up_that_names_its_own_subject_replaces_the_topic() -> None:
    reading = read("What about the bridge?", CORVANE_Q)
    assert reading.standalone == "What about the Sallow Street Bridge?"  # the name it is part of
    assert reading.topic == ()
    assert read("And Linnea Sorvald?", BRIDGE_Q).standalone == "And Linnea Sorvald?"
    # A name the articles never use is a new subject too (the answer will say so).
    assert read("What about Paris?", BRIDGE_Q).standalone == "What about Paris?"


@pytest.mark.parametrize(
    ("question", "standalone"),
    [
        ("Who is its chief executive?", "Who is Corvane Materials's chief executive?"),
        ("When will they open the plant?", "When will Corvane Materials open the plant?"),
        (
            "What did the council say then?",
            "What did the Eastmere County Council say then? Corvane Materials",
        ),
        ("What about the cost?", "What about the cost? Corvane Materials"),
        ("And there?", "And there? Corvane Materials"),
    ],
)
def test_a_follow_up_that_points_back_carries_the_topic(question: str, standalone: str) -> None:
    reading = read(question, CORVANE_Q)
    assert reading.standalone == standalone
    assert reading.topic == ("Corvane Materials",)


def test_a_common_noun_that_only_begins_a_name_is_no_subject() -> None:
    # "price" begins "Price-Lisle" but heads no name: the question still points back
    reading = read("Why did the price go up?", BRIDGE_Q)
    assert reading.standalone == "Why did the price go up? Sallow Street Bridge"
    # "the council" heads "Eastmere County Council": it names its own subject
    assert read("What did the council say?", BRIDGE_Q).topic == ()


def test_the_topic_is_carried_over_several_turns_newest_first() -> None:
    # The bridge set the topic; "it" and "the cost" kept it; the latest pointer still has it.
    reading = read("Who won the contract for it?", CORVANE_Q, BRIDGE_Q, "What about the cost?")
    assert reading.standalone == "Who won the contract for Sallow Street Bridge?"
    assert reading.topic == ("Sallow Street Bridge",)
    # A turn that points back and names more adds to the topic, newest first.
    reading = read("How much will it cost?", BRIDGE_Q, "Did Linnea Sorvald say it would?")
    assert reading.topic == ("Linnea Sorvald", "Sallow Street Bridge")
    assert reading.standalone == "How much will Linnea Sorvald cost? Sallow Street Bridge"


def test_the_subject_of_an_earlier_question_is_what_it_stands_for() -> None:
    """A noun phrase, not only a name: "it" is the plant the conversation asked about."""
    plant = "How much will the recycling plant cost?"
    reading = read("When will it open?", plant)
    assert reading.standalone == "When will recycling plant open?"
    # Carried through a turn that only pointed back.
    assert read("How many jobs will it create?", plant, "When will it open?").topic == (
        "recycling plant",
    )
    # A subject such as "the price" may be an attribute: the topic before it stays.
    reading = read("Who has to pay the extra?", BRIDGE_Q, "Why did the price go up?")
    assert reading.topic == ("price", "Sallow Street Bridge")


def test_names_in_the_answer_are_the_topic_when_no_question_named_one() -> None:
    history = [Turn("What happened?", "According to Valley Wire: Corvane Materials said...")]
    assert follow_up("Why?", history, LEXICON).standalone == "Why? Corvane Materials"
    # The last words of an outlet's name are no topic either.
    said = "According to The Harbour Ledger (2026-03-05): Corvane Materials said... [1]"
    assert follow_up("Why?", [Turn("What happened?", said)], LEXICON).topic == (
        "Corvane Materials",
    )


def test_a_standalone_question_and_the_first_one_are_left_as_asked() -> None:
    assert read(" Who is its chief executive? ").standalone == "Who is its chief executive?"
    assert read(BRIDGE_Q, CORVANE_Q).standalone == BRIDGE_Q
    once = read("Who is its chief executive?", CORVANE_Q).standalone
    assert read(once, CORVANE_Q).standalone == once  # reading it again changes nothing


def test_then_carries_the_date_window() -> None:
    history = [Turn(BRIDGE_Q, "According to Valley Wire (2026-03-19): May 18 [1].")]
    reading = follow_up("And what did the council say then?", history, LEXICON)
    assert reading.window == (date(2026, 3, 15), date(2026, 3, 23))
    assert follow_up("What did the council say?", history, LEXICON).window is None


# -- merging the model's reading ---------------------------------------------------------------

SITES = ["Valley Wire", "The Harbour Ledger"]
OFFLINE = FollowUp("¿Y el puente?", "¿Y el puente?")


def test_the_model_s_reading_is_merged_part_by_part() -> None:
    analysis = Analysis(
        question="What about the bridge?",
        outlet="the harbour ledger",
        since="2026-03-01",
        until="2026-03-31",
        recent=True,
    )
    reading, filters = with_analysis(OFFLINE, analysis, SearchFilters(k=3), SITES)
    assert reading.standalone == "What about the bridge?"
    assert filters == SearchFilters(
        k=3,
        site="The Harbour Ledger",
        since=date(2026, 3, 1),
        until=date(2026, 3, 31),
        prefer_recent=True,
    )


@pytest.mark.parametrize(
    "analysis",
    [
        Analysis(outlet="The Daily Planet", since="March 1", until="2026-02-30"),
        Analysis(question="   ", since="2026-04-01", until="2026-03-01"),  # since after until
        Analysis(question="x" * 501),  # a chatty model
        None,  # no reading at all
    ],
)
def test_what_the_model_gets_wrong_leaves_the_offline_reading(analysis: Analysis | None) -> None:
    filters = SearchFilters(k=3, until=date(2026, 3, 20))
    assert with_analysis(OFFLINE, analysis, filters, SITES) == (OFFLINE, filters)


def test_the_model_s_dates_narrow_the_filters_and_a_set_site_wins() -> None:
    filters = SearchFilters(site="Valley Wire", since=date(2026, 3, 10))
    analysis = Analysis(outlet="The Harbour Ledger", since="2026-03-01", until="2026-03-15")
    _, merged = with_analysis(OFFLINE, analysis, filters, SITES)
    assert (merged.site, merged.since, merged.until) == (
        "Valley Wire", date(2026, 3, 10), date(2026, 3, 15)
    )  # fmt: skip
    disjoint = Analysis(since="2026-01-01", until="2026-02-01")
    assert with_analysis(OFFLINE, disjoint, filters, SITES)[1] == filters


# -- the LLM path over the shipped samples ------------------------------------------------------

SPANISH_Q = "¿Cuándo reabrirá el puente Sallow Street?"
REOPEN_Q = "When will the Sallow Street Bridge reopen?"


@pytest.fixture(scope="module")
def samples_index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ArticleIndex]:
    data_dir = tmp_path_factory.mktemp("samples")
    settings = Settings(_env_file=None, data_dir=data_dir)  # type: ignore[call-arg]
    index = ArticleIndex(settings)
    found = list(load_sources([str(SAMPLES_DIR / "articles")], settings))
    ingest_articles([a for a in found if isinstance(a, Article)], index, settings)
    yield index
    index.close()


@pytest.fixture
def llm(tmp_path: Path, openai_server: FakeOpenAIServer, samples_index: ArticleIndex) -> Answerer:
    """The answerer `ask` builds with an LLM configured, news steps on, over the samples."""
    openai_server.chat_responder = quote_the_first_passage
    return make_answerer(llm_settings(tmp_path, openai_server, answerer="llm"), samples_index)


def quote_the_first_passage(body: Any) -> str:
    """A chat model that answers with the first sentence of the first passage, cited."""
    _, user = messages(RecordedRequest("POST", "", {}, body))
    text = re.search(r'<passage id="1">\n[^\n]*\n(.*?)\n</passage>', user, re.S)
    assert text is not None, user
    return re.split(r"(?<=[.!?])\s", text.group(1).strip())[0] + " [1]"


def headers(request: RecordedRequest) -> list[str]:
    """The passage header lines of an answer request ("[n] title — outlet, date")."""
    _, user = messages(request)
    return re.findall(r"^\[\d+\] .*$", user, re.M)


def test_a_question_not_in_english_is_read_by_the_model_and_answered(
    llm: Answerer, openai_server: FakeOpenAIServer
) -> None:
    openai_server.enqueue_structured({"question": REOPEN_Q, "recent": True})
    answer = llm.answer(SPANISH_Q)
    [analysis] = openai_server.structured_requests
    schema = analysis.json["response_format"]
    assert schema["type"] == "json_schema"
    properties = schema["json_schema"]["schema"]["properties"]
    assert {"question", "outlet", "since", "until", "recent"} <= set(properties)
    assert f"Question: {SPANISH_Q}" in messages(analysis)[1]
    assert answer.question == REOPEN_Q and answer.found
    [request] = openai_server.chat_requests
    assert messages(request)[1].rstrip().endswith(f"Question: {REOPEN_Q}")
    assert "reopening pushed back two weeks to May 18 — Valley Wire" in headers(request)[0]
    assert answer.citations[0].article.title.endswith("pushed back two weeks to May 18")


def test_the_outlet_and_dates_the_model_reads_filter_the_search(
    llm: Answerer, openai_server: FakeOpenAIServer
) -> None:
    openai_server.enqueue_structured(
        {"question": "What did the Northgate Courier report about the bridge?",
         "outlet": "Northgate Courier"},
        {"question": "What happened to the Sallow Street Bridge?",
         "since": "2026-03-15", "until": "2026-03-31"},
    )  # fmt: skip
    answer = llm.answer("¿Qué publicó el Northgate Courier sobre el puente?")
    assert answer.site == "Northgate Courier"
    first = openai_server.chat_requests[-1]
    assert headers(first) and all("— Northgate Courier, " in h for h in headers(first))
    llm.answer("¿Qué pasó con el puente en la segunda quincena de marzo?")
    second = openai_server.chat_requests[-1]
    dates = [h.rsplit(", ", 1)[1] for h in headers(second)]
    assert dates and all("2026-03-15" <= d <= "2026-03-31" for d in dates), dates


@pytest.mark.parametrize(
    "failure",
    [
        "not json {",  # malformed content
        {"question": 42, "since": ["x"]},  # JSON of the wrong shape
        ScriptedResponse.error(500, structured=True),  # the server fails the analysis
    ],
)
def test_a_failed_reading_by_the_model_falls_back_to_the_offline_one(
    llm: Answerer, openai_server: FakeOpenAIServer, failure: Any
) -> None:
    if isinstance(failure, ScriptedResponse):
        openai_server.enqueue(failure, failure, failure)  # the client retries twice
    else:
        openai_server.enqueue_structured(failure)
    history = [Turn(CORVANE_Q, "Linnea Sorvald. According to The Harbour Ledger ... [1]")]
    answer = llm.answer("What about the bridge?", history)
    assert openai_server.structured_requests  # the model was asked
    assert answer.question == "What about the Sallow Street Bridge?"  # the offline reading
    assert answer.found and "Corvane" not in answer.question
    assert all("Bridge" in c.article.title or "bridge" in c.article.title for c in answer.citations)


def test_the_fake_server_answers_a_tool_call_for_structured_output(
    openai_server: FakeOpenAIServer,
) -> None:
    from langchain_openai import ChatOpenAI
    from pydantic import SecretStr

    model = ChatOpenAI(model="m", api_key=SecretStr("k"), base_url=openai_server.base_url)
    reader = model.with_structured_output(Analysis, method="function_calling")
    openai_server.enqueue_structured({"question": REOPEN_Q, "outlet": "Valley Wire"})
    reply = reader.invoke(SPANISH_Q)
    assert reply == Analysis(question=REOPEN_Q, outlet="Valley Wire")
    [request] = openai_server.structured_requests
    assert request.json["tools"][0]["function"]["name"] == "Analysis"
