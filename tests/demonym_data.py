"""Where `retrieval/store/demonyms.json` comes from: countryinfo's country data.

Loading countryinfo takes ~0.7 s, too long for a question's cold start, so the table the
analyzer needs is generated once (`scripts/gen-demonyms`) and shipped; `test_project`
checks that the shipped file is what countryinfo gives.
"""

from __future__ import annotations

import json
import re


def from_countryinfo() -> dict[str, str]:
    """Each one-word demonym with its country's one-word name ("iraqi" → "iraq"); the most
    populous country where several share the demonym ("chinese" is China's). A name of
    several words ("American": united, states) would add words that a text saying "U.S."
    lacks, and a question's uncovered words read as off-topic: one-word names only."""
    from countryinfo import CountryInfo

    named: dict[str, tuple[int, list[str]]] = {}
    for country in CountryInfo.all().values():
        demonym = str(country.get("demonym") or "").lower()
        name = str(country.get("name") or "").lower()
        if not demonym.isalpha() or not name or demonym == name:
            continue
        population = int(country.get("population") or 0)
        if demonym not in named or population > named[demonym][0]:
            named[demonym] = (population, re.findall(r"\w\w+", name))
    return {d: words[0] for d, (_, words) in sorted(named.items()) if len(words) == 1}


def rendered() -> str:
    """The JSON file's text."""
    return json.dumps(from_countryinfo(), indent=0, sort_keys=True) + "\n"
