"""Which newly stored articles are about a followed topic, and the sentence that shows it.

Relevance is the answers' own: the topic is searched as a question with the hybrid
retriever, restricted to one candidate article at a time, and the refusal model's
probability that those passages answer it (`RefusalModel.probability`) must reach a
threshold calibrated on a labelled set (`bench/fit_follow.py`, docs/news.md). One search
per article keeps each verdict independent of what else arrived in the same sync, so
`articlebot follow --since` and the bot agree. The best sentence is cited like an answer.

`unsent` then keeps one match per story not yet sent: a story is the article's story
(`StoryStore`) plus those of its syndicated copies (`CopyFinder`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from retrieval.answer.citations import make_citation
from retrieval.answer.refusal import RefusalModel, evidence_of
from retrieval.news.syndication import CopyFinder
from retrieval.search.retriever import HybridRetriever
from retrieval.search.sentence_rank import Sentence
from retrieval.store.index import ArticleIndex
from retrieval.store.stories import StoryStore
from retrieval.types import Article, Citation, SearchFilters

#: The calibrated threshold (`bench/fit_follow.py`); the setting's default is the same.
MIN_PROBABILITY = 0.45


@dataclass(frozen=True, slots=True)
class Match:
    """A new article about the topic: how likely, and its best sentence, cited as [1]."""

    article: Article
    probability: float
    citation: Citation
    stories: frozenset[str] = frozenset()  # its story and its copies' (filled by `unsent`)

    def to_dict(self) -> dict[str, object]:
        """The JSON shape of `articlebot follow --json`."""
        return {
            **self.citation.to_dict(),
            "probability": round(self.probability, 4),
            "stories": sorted(self.stories),
        }


class TopicMatcher:
    """Score candidate articles against a topic with the answers' retrieval and refusal model."""

    def __init__(
        self,
        retriever: HybridRetriever,
        min_probability: float = MIN_PROBABILITY,
        *,
        k: int = 5,
        refusal: RefusalModel | None = None,
    ) -> None:
        self.retriever = retriever
        self.min_probability = min_probability
        self.k = k
        self.refusal = refusal or RefusalModel()

    def score(self, topic: str, article_id: str) -> tuple[float, Sentence | None]:
        """P(the article answers the topic) and its best sentence (None: nothing found)."""
        filters = SearchFilters(k=self.k, article_ids=frozenset({article_id}))
        found = self.retriever.retrieve(topic, filters)
        if not found.hits:
            return 0.0, None
        probability = self.refusal.probability(evidence_of(found))
        return probability, best_sentence(found.sentences)

    def matches(self, topic: str, article_ids: Sequence[str]) -> list[Match]:
        """The candidates about `topic` (at least the threshold), in the order given."""
        found = []
        for article_id in dict.fromkeys(article_ids):
            probability, sentence = self.score(topic, article_id)
            if sentence is None or probability < self.min_probability:
                continue
            citation = make_citation(1, sentence.hit.article, sentence.start, sentence.end)
            if citation is not None:
                found.append(Match(sentence.hit.article, probability, citation))
        return found


def best_sentence(sentences: Sequence[Sentence]) -> Sentence | None:
    """The sentence that shows the match best: the offline answerer's word score (coverage
    of the topic, its passage's rank) plus its meaning's cosine with the topic, when known."""
    if not sentences:
        return None
    return max(sentences, key=lambda s: s.words + (s.cosine or 0.0))


def unsent(
    matches: Iterable[Match], stories: StoryStore, copies: CopyFinder, sent: set[str]
) -> list[Match]:
    """One match per story not in `sent`, in order.

    A match's stories are its article's (from the catalog; an article in none is its own
    story) and its syndicated copies', so a copy grouped into another story (it names
    other things, say) is still known as sent."""
    kept = []
    seen = set(sent)
    for match in matches:
        probe = match.article.text[match.citation.start : match.citation.end]
        ids = [a.id for a in copies.story(match.article, probe)]
        grouped = stories.of(ids)
        own = {grouped.get(i, i) for i in ids}
        if own & seen:
            continue
        seen |= own
        kept.append(Match(match.article, match.probability, match.citation, frozenset(own)))
    return kept


def plan(
    matcher: TopicMatcher,
    index: ArticleIndex,
    topic: str,
    article_ids: Sequence[str],
    sent: set[str],
) -> list[Match]:
    """What a follow of `topic` would send for these new articles, given the stories
    already sent: the matches, one per story not sent yet."""
    found = matcher.matches(topic, article_ids)
    return unsent(found, index.stories, CopyFinder(index), sent) if found else []
