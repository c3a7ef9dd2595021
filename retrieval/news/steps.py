"""The news steps over a composed answer and the retrieval it came from.

Both composers' answers go through the same steps (`retrieval/pipeline.py` runs them), on
the passages the answer came from (`Answer.retrieval`): nothing is searched twice.

* syndicated copies are merged into one source listing where it ran (`syndication.py`);
* where the reports of the answer's story disagree on the figure asked for, every value is
  cited (`conflicts.py`); a quoted answer then leads with the newest report's value;
* dated claims: quoted answers name who reported each quote and when; a written (LLM)
  answer over several dates gets "As of <date>" if it did not say it (`datelines.py`).
"""

from __future__ import annotations

from dataclasses import replace

from retrieval.answer.base import Draft
from retrieval.answer.citations import make_citation
from retrieval.news import conflicts
from retrieval.news.datelines import attributed, with_as_of
from retrieval.news.syndication import CopyFinder, merge_syndicated, merged
from retrieval.store.index import ArticleIndex
from retrieval.types import Answer


def finish(draft: Draft, index: ArticleIndex) -> Answer:
    """The draft with copies merged, conflicts cited and every claim dated."""
    answer, retrieval = draft.answer, draft.answer.retrieval
    if not answer.found or not answer.citations or retrieval is None:
        return answer
    finder = CopyFinder(index)
    anchor = answer.citations[0].article
    answer = merge_syndicated(answer, finder)
    stories = index.stories.of([anchor.id, *(hit.article.id for hit in retrieval.hits)])
    story = stories.get(anchor.id, anchor.id)
    disagreement = conflicts.find(
        answer.question,
        retrieval.hits,
        index.lexical(),
        lambda a: a.id == anchor.id or stories.get(a.id) == story,
    )
    if draft.written:
        if disagreement is not None:
            said = all(group[0].value in answer.text for group in disagreement.groups)
            answer = conflicts.attach(answer, disagreement, finder, note=not said)
        return with_as_of(answer)
    lead = draft.lead
    if disagreement is not None:
        newest = disagreement.groups[0][0]
        leading = make_citation(1, newest.article, newest.start, newest.end)
        if leading is not None:
            answer = replace(answer, citations=(merged(leading, finder),))
            lead = newest.value
    text = attributed(answer.citations)
    answer = replace(answer, text=f"{lead}. {text}" if lead else text)
    if disagreement is not None:
        answer = conflicts.attach(answer, disagreement, finder, note=True)
    return answer
