"""Page residue (bylines, captions, share lines) leaves an article at ingest, whatever its
format; the story's own sentences, short ones included, stay."""

from __future__ import annotations

from pathlib import Path

from bot.settings import Settings
from ingest.residue import drop_residue
from ingest.sources import load_sources
from retrieval.types import Article

STORY = "\n".join(
    [
        "Harbour board approves new ferry pier for Eastmere",
        "",
        "Mara Tillett Avatar",
        "By Mara Tillett | Tuesday, March 3, 2026 | 3 min read",
        "Share this article",
        (
            "Workers unload steel piles at the Eastmere ferry terminal on Monday. (Photo: J. "
            "Brandt/Eastmere Courier)"
        ),
        "",
        (
            "EASTMERE, March 3 — The harbour board on Tuesday approved a new ferry pier at "
            "the north end of the port, a project it expects to cost $18.5m and to finish by "
            "the summer of 2028."
        ),
        "",
        (
            "The pier will let two ferries berth at once, ending queues that stretch onto the "
            "coast road on summer weekends, the board's chair, Osric Penhale, told a public "
            "meeting."
        ),
        "",
        "Related: Coast road closures this weekend",
        "Advertisement",
        "",
        (
            "Fishing crews, who moor along the north wall, said they had not been consulted "
            "and asked for the vote to be delayed. The board refused."
        ),
        "",
        "Work begins in October.",
        "",
        "E-mail to a friend",
        "The latest on Eastmere Courier",
    ]
)

#: The lines around the story. A short line inside it ("Related: ...", "Advertisement")
#: may pass for a short paragraph between two of the story's: jusText judges a line by its
#: neighbours too, and that is what keeps a story's own short paragraphs.
RESIDUE = (
    "Mara Tillett Avatar",
    "By Mara Tillett | Tuesday",
    "Share this article",
    "(Photo: J. Brandt",
    "E-mail to a friend",
    "The latest on Eastmere Courier",
)


def _ingested(tmp_path: Path, name: str, text: str) -> Article:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    settings = Settings(_env_file=None, data_dir=tmp_path / "data")  # type: ignore[call-arg]
    (found,) = load_sources([str(path)], settings)
    assert isinstance(found, Article), found
    return found


def test_residue_lines_leave_a_text_file_and_the_story_stays(tmp_path: Path) -> None:
    article = _ingested(tmp_path, "pier.txt", STORY)
    for line in RESIDUE:
        assert line not in article.text, line
    assert article.title == "Harbour board approves new ferry pier for Eastmere"
    for kept in (
        "a project it expects to cost $18.5m",
        "The board refused.",
        "Work begins in October.",  # a short closing sentence is still the story
    ):
        assert kept in article.text, kept
    assert "\n\n\n" not in article.text


def test_residue_leaves_a_page_as_it_leaves_a_text_file(tmp_path: Path) -> None:
    paragraphs = [p for p in STORY.split("\n") if p.strip()]
    body = "".join(f"<p>{p}</p>" for p in paragraphs[1:])
    page = (
        f"<html><head><title>{paragraphs[0]}</title></head>"
        f"<body><article><h1>{paragraphs[0]}</h1>{body}</article></body></html>"
    )
    article = _ingested(tmp_path, "pier.html", page)
    assert "Osric Penhale" in article.text
    for line in ("Mara Tillett Avatar", "Share this article", "(Photo: J. Brandt", "E-mail to"):
        assert line not in article.text, line


def test_a_text_with_no_body_to_compare_with_is_kept_whole() -> None:
    for text in ("Bridge shut", "Bridge shut\nFerry late", "Bridge shut.\n\nFerry late."):
        assert drop_residue(text) == text


def test_dropping_residue_twice_drops_nothing_more() -> None:
    once = drop_residue(STORY)
    assert once != STORY
    assert drop_residue(once) == once
