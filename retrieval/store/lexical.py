"""The lexical (BM25) side of the index, kept beside Chroma.

Local Chroma has no sparse index, so articlebot keeps a `bm25s` index of the same chunks,
persisted in the data directory. bm25s cannot add documents to a built index, so it is
rebuilt from the catalog after each change; a generation number says which catalog state
it matches, and a stale or missing index is rebuilt on open.
"""

from __future__ import annotations

import calendar
import contextlib
import gc
import json
import math
import os
import re
import shutil
import time
import unicodedata
import uuid
from collections.abc import Iterator, Sequence
from functools import lru_cache
from pathlib import Path

import bm25s
import numpy as np
import Stemmer
from bm25s.stopwords import STOPWORDS_EN

ChunkKey = tuple[str, int]  # (article id, chunk position)

_KEYS_FILE = "keys.json"
_MANIFEST_FILE = "manifest.json"


#: Changes whenever `analyze` would split or spell a text differently: a saved index made
#: by another version is rebuilt on open.
ANALYZER = "news-3"

# A number with its decimal point or thousands commas and what is glued to it ("4.6m",
# "4th", "6km"), a word of two or more characters, or a lone sign ("$").
_TOKEN = re.compile(r"(\d+(?:[.,]\d+)*)([^\W\d_]*)|(\w\w+)|([^\w\s])")
_STOP = frozenset(STOPWORDS_EN)
_stemmer = Stemmer.Stemmer("english")
#: News spells months short ("Jan. 4", AP's "Sept."); readers ask with the full name.
_MONTHS = {
    a.lower(): n.lower() for a, n in zip(calendar.month_abbr, calendar.month_name, strict=True) if a
}
_MONTHS["sept"] = "september"
#: Scale words glued to a figure ("$4.6m", "€2.3bn", "40k"): the same as written out.
_SCALES = {"k": "thousand", "m": "million", "mn": "million", "bn": "billion", "tn": "trillion"}
_ORDINAL = frozenset({"st", "nd", "rd", "th"})  # "4th" is 4


@lru_cache(maxsize=1)
def _demonyms() -> dict[str, tuple[str, ...]]:
    """ "iraqi" → ("iraq",): each one-word demonym of countryinfo's country data with its
    country's one-word name (the most populous country where several share the demonym:
    "chinese" is China's), so "Iraqi prime minister" meets "Iraq's prime minister"."""
    from countryinfo import CountryInfo  # data only: ~60 ms, on first use

    named: dict[str, tuple[int, tuple[str, ...]]] = {}
    for country in CountryInfo.all().values():
        demonym = str(country.get("demonym") or "").lower()
        name = str(country.get("name") or "").lower()
        if not demonym.isalpha() or not name or demonym == name:
            continue
        population = int(country.get("population") or 0)
        if demonym not in named or population > named[demonym][0]:
            named[demonym] = (population, tuple(re.findall(r"\w\w+", name)))
    # A name of several words ("American": united, states) would add words that a text
    # saying "U.S." lacks, and a question's uncovered words read as off-topic: one-word
    # names only.
    return {d: words for d, (_, words) in named.items() if len(words) == 1}


@lru_cache(maxsize=65536)
def _stem(word: str) -> str:
    return str(_stemmer.stemWord(_MONTHS.get(word, word)))


@lru_cache(maxsize=256)
def _currency(sign: str) -> str | None:
    """ "dollar" for "$", "euro" for "€": the word Unicode names a currency sign by."""
    if unicodedata.category(sign) != "Sc":
        return None
    name = unicodedata.name(sign, "").lower().split()
    return name[-2] if len(name) >= 2 and name[-1] == "sign" else None


def _words(text: str) -> Iterator[str]:
    """The text's words and figures, news spellings made one: "$4.6m", "$4.6 million" and
    "4.6 million dollars" all give 4.6, million, dollar(s); "11,000" gives 11000; a
    demonym is followed by its country's name ("Iraqi" gives iraqi, iraq)."""
    for number, glued, word, sign in _TOKEN.findall(text.lower()):
        if word:
            yield word
            yield from _demonyms().get(word, ())
        elif number:
            yield number.replace(",", "") if "," in number else number
            if glued and glued not in _ORDINAL:
                yield _SCALES.get(glued, glued)
        elif (currency := _currency(sign)) is not None:
            yield currency


def analyze(text: str, ignore: frozenset[str] = frozenset()) -> list[str]:
    """Lower-cased, stop-word-free, stemmed words and figures: what the index stores for a
    text and what a question is searched and a sentence scored by, so "Jan. 4" meets
    "January 4" and "$4.6m" meets "4.6 million dollars". Words in `ignore` are left out as
    well (before stemming, so "current" stays when "currently" is ignored).
    """
    return [_stem(w) for w in _words(text) if w not in _STOP and w not in ignore]


class LexicalIndex:
    """BM25 over chunk texts; results are chunk keys with their scores."""

    def __init__(self, keys: Sequence[ChunkKey], retriever: bm25s.BM25 | None) -> None:
        self.keys = list(keys)
        self._retriever = retriever

    def __len__(self) -> int:
        return len(self.keys)

    @classmethod
    def build(cls, keys: Sequence[ChunkKey], texts: Sequence[str]) -> LexicalIndex:
        """Index these chunk texts (keys[i] names texts[i]).

        Texts and queries go through `analyze` (bm25s's own tokenizer rebuilds a reverse
        vocabulary on every query: 9 ms at 100k chunks).
        """
        if not texts:
            return cls([], None)
        tokens = [analyze(text) for text in texts]
        retriever = bm25s.BM25()
        retriever.index(tokens, show_progress=False)
        return cls(keys, retriever)

    def search(
        self, query: str, k: int, mask: np.ndarray | None = None
    ) -> list[tuple[ChunkKey, float]]:
        """Return up to k (key, score) pairs with a positive score, best first."""
        if self._retriever is None or k <= 0:
            return []
        vocabulary = self._retriever.vocab_dict
        tokens = [t for t in analyze(query) if t in vocabulary]
        if not tokens:
            return []
        k = min(k, len(self.keys))
        # n_threads=0 scores in this thread; any other value starts a thread pool per call.
        docs, scores = self._retriever.retrieve(
            [tokens], k=k, show_progress=False, n_threads=0, weight_mask=mask
        )
        return [
            (self.keys[int(d)], float(s)) for d, s in zip(docs[0], scores[0], strict=True) if s > 0
        ]

    def idf(self, stem: str) -> float:
        """BM25's inverse document frequency of a stem.

        A stem no chunk has gets the highest possible IDF: a question about something the
        articles never mention must not look well covered by what they do mention.
        """
        n = len(self.keys)
        df = self.document_frequency(stem)
        return math.log(1 + (n - df + 0.5) / (df + 0.5))

    def document_frequency(self, stem: str) -> int:
        """How many chunks hold the stem."""
        if self._retriever is None:
            return 0
        token = self._retriever.vocab_dict.get(stem)
        if token is None:
            return 0
        indptr = self._retriever.scores["indptr"]
        return int(indptr[token + 1] - indptr[token])

    def save(self, directory: Path, generation: int) -> None:
        """Write the index beside its target, then swap it in, so a crash leaves no half.

        Another process (the bot while `articlebot ingest` runs) may save at the same time:
        each writes its own temporary directory, and a swap that loses the race drops its
        copy (the winner's is as good, or older and then rebuilt on next use).
        """
        _sweep(directory)
        tag = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        fresh = directory.with_name(f"{directory.name}.new-{tag}")
        old = directory.with_name(f"{directory.name}.old-{tag}")
        fresh.mkdir(parents=True)
        try:
            if self._retriever is not None:
                self._retriever.save(str(fresh))
            (fresh / _KEYS_FILE).write_text(json.dumps(self.keys), encoding="utf-8")
            manifest = {"generation": generation, "chunks": len(self.keys), "analyzer": ANALYZER}
            (fresh / _MANIFEST_FILE).write_text(json.dumps(manifest), encoding="utf-8")
            with contextlib.suppress(FileNotFoundError):
                directory.rename(old)
            with contextlib.suppress(OSError):  # lost the race: another copy is in place
                fresh.rename(directory)
        finally:
            shutil.rmtree(fresh, ignore_errors=True)
            shutil.rmtree(old, ignore_errors=True)

    @classmethod
    def load(cls, directory: Path) -> tuple[LexicalIndex, int] | None:
        """Return the saved index and its generation, or None if absent or unreadable.

        The manifest is read before and after the files: if another process swapped the
        directory meanwhile, the pieces may not belong together, and None is returned.
        """
        try:
            manifest = (directory / _MANIFEST_FILE).read_text(encoding="utf-8")
            keys = _read_keys(directory / _KEYS_FILE)
            retriever = bm25s.BM25.load(str(directory), mmap=False) if keys else None
            if (directory / _MANIFEST_FILE).read_text(encoding="utf-8") != manifest:
                return None
            info = json.loads(manifest)
            if int(info["chunks"]) != len(keys) or info.get("analyzer") != ANALYZER:
                return None
            return cls(keys, retriever), int(info["generation"])
        except (OSError, ValueError, KeyError, TypeError):
            return None


def _read_keys(path: Path) -> list[ChunkKey]:
    """The chunk keys, in index order. The collector is paused meanwhile: building 100k
    tuples would otherwise run it dozens of times (0.2 → 0.1 s at 100k chunks, chromadb
    imported)."""
    text = path.read_text(encoding="utf-8")
    collecting = gc.isenabled()
    gc.disable()
    try:
        return [(str(a), int(p)) for a, p in json.loads(text)]
    finally:
        if collecting:
            gc.enable()


def _sweep(directory: Path, older_than: float = 600.0) -> None:
    """Remove temporary copies that a killed process left beside the index."""
    now = time.time()
    leftovers = [*directory.parent.glob(f"{directory.name}.new-*")]
    for leftover in leftovers + [*directory.parent.glob(f"{directory.name}.old-*")]:
        with contextlib.suppress(OSError):
            if now - leftover.stat().st_mtime > older_than:
                shutil.rmtree(leftover, ignore_errors=True)
