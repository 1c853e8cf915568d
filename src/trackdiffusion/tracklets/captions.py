"""Captions: caption files, and templates made from a clip's categories.

The paper captions its videos with LLaVA; without such a model the fallback is a template
that counts the categories of a clip: "a video of two dogs and a person". Caption files map a
video name to its text, as JSON (``{"name": "text"}``) or as text lines ``name<TAB>text``.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Mapping

from .clip import Clip
from .errors import FormatError, Problem, TrackletError

_NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
                 "ten", "eleven", "twelve")
_IRREGULAR = {
    "person": "people", "man": "men", "woman": "women", "child": "children", "mouse": "mice",
    "goose": "geese", "foot": "feet", "tooth": "teeth", "ox": "oxen", "knife": "knives",
    "leaf": "leaves", "wolf": "wolves", "calf": "calves", "shelf": "shelves", "half": "halves",
}
_UNCHANGED = {"fish", "sheep", "deer", "bison", "moose", "aircraft", "series", "species", "people"}
# The noun a phrase like "person on vehicle" counts is the word before its first preposition.
_PREPOSITIONS = {"of", "on", "in", "with", "at", "by"}
# Words spelled with a leading vowel that is said as a consonant ("a unicycle", "a one-way").
_CONSONANT_SOUND = ("uni", "use", "usu", "eu", "one", "ewe")
_SILENT_H = ("hour", "honest", "honour", "honor", "heir")


def normalize_category(name: str) -> str:
    """A category name as words: ``giant_panda`` -> ``giant panda``."""
    return " ".join(name.replace("_", " ").replace("-", " ").split()).lower()


def _plural_word(word: str) -> str:
    if word in _IRREGULAR:
        return _IRREGULAR[word]
    if word in _UNCHANGED:
        return word
    if word.endswith(("s", "x", "z", "ch", "sh")):
        return word + "es"
    if len(word) > 1 and word.endswith("y") and word[-2] not in "aeiou":
        return word[:-1] + "ies"
    return word + "s"


def plural(phrase: str) -> str:
    """The plural of a noun phrase: ``red circle`` -> ``red circles``, ``person`` -> ``people``."""
    words = phrase.split()
    if not words:
        return phrase
    head = next((i - 1 for i, w in enumerate(words) if w in _PREPOSITIONS and i > 0), len(words) - 1)
    words[head] = _plural_word(words[head])
    return " ".join(words)


def article(phrase: str) -> str:
    """``a`` or ``an`` for ``phrase``, by its first sound as far as spelling tells."""
    word = phrase.lower()
    if word.startswith(_SILENT_H):
        return "an"
    if word[:1] in ("a", "e", "i", "o", "u") and not word.startswith(_CONSONANT_SOUND):
        return "an"
    return "a"


def count_phrase(phrase: str, count: int) -> str:
    """``a square``, ``two circles``, ``13 stars``."""
    if count == 1:
        return f"{article(phrase)} {phrase}"
    number = _NUMBER_WORDS[count] if count < len(_NUMBER_WORDS) else str(count)
    return f"{number} {plural(phrase)}"


def join_words(parts: list[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + " and " + parts[-1]


def describe_objects(phrases: list[str]) -> str:
    """Count equal noun phrases, in order of first appearance: ``two circles and a square``."""
    counts = Counter(phrases)  # keeps first-appearance order
    return join_words([count_phrase(p, n) for p, n in counts.items()])


def category_caption(category_names: list[str]) -> str:
    """The template caption of objects with these category names (one per instance)."""
    if not category_names:
        return "an empty video"
    return "a video of " + describe_objects([normalize_category(n) for n in category_names])


def caption_for(clip: Clip, captions: Mapping[str, str] | None = None) -> str:
    """The caption of ``clip``: from ``captions`` by name, else the clip's own, else the template."""
    if captions is not None and clip.name in captions:
        return captions[clip.name]
    if clip.caption:
        return clip.caption
    return category_caption([clip.categories[inst.category_id] for inst in clip.instances])


def load_captions(path: str | Path) -> dict[str, str]:
    """Read a caption file: ``.json`` (an object name -> text) or text lines ``name<TAB>text``.

    Blank lines and lines starting with ``#`` are skipped in text files. Every bad entry is
    reported with its location in one :class:`TrackletError`.
    """
    path = Path(path)
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as err:
            raise FormatError(f"{path}: line {err.lineno}", f"not valid JSON: {err.msg}") from None
        if not isinstance(data, dict):
            raise FormatError(str(path), f"expected an object {{video name: caption}}, got {type(data).__name__}")
        bad = [Problem(f"{path}: {k!r}", f"caption must be a string, got {type(v).__name__}")
               for k, v in data.items() if not isinstance(v, str)]
        if bad:
            raise TrackletError(bad)
        return dict(data)
    out: dict[str, str] = {}
    problems: list[Problem] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, tab, text = line.partition("\t")
        where = f"{path}: line {number}"
        if not tab or not name.strip() or not text.strip():
            problems.append(Problem(where, "expected 'name<TAB>caption'"))
        elif name.strip() in out:
            problems.append(Problem(where, f"second caption for {name.strip()!r}"))
        else:
            out[name.strip()] = text.strip()
    if problems:
        raise TrackletError(problems)
    return out


def save_captions(captions: Mapping[str, str], path: str | Path) -> None:
    """Write ``captions`` as a JSON object (the format :func:`load_captions` reads first)."""
    Path(path).write_text(json.dumps(dict(captions), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
