"""Per-instance appearance phrases ("red striped star"): what each object should look like.

A phrase is an optional second text per instance beside its category, carried as
:attr:`Instance.phrase`. No tracking format has a field for it, so a split keeps its phrases
in a sidecar next to its annotations, as ``captions.json`` keeps captions:
``phrases.json = {clip name: {instance id: phrase}}``. Instances a file does not name keep no
phrase (the model then uses the category alone).
"""

from __future__ import annotations

import json
from pathlib import Path

from .dataset import TrackletDataset
from .errors import FormatError, Problem, TrackletError

PHRASES_FILE = "phrases.json"


def load_phrases(path: str | Path) -> dict[str, dict[int, str]]:
    """Read a phrase file; every malformed entry is named (file, clip, instance) in one error."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise FormatError(f"{path}: line {err.lineno}", f"not valid JSON: {err.msg}") from None
    if not isinstance(data, dict):
        raise FormatError(str(path), f"expected an object {{clip name: {{instance id: phrase}}}}, "
                                     f"got {type(data).__name__}")
    out: dict[str, dict[int, str]] = {}
    problems: list[Problem] = []
    for clip, entries in data.items():
        if not isinstance(entries, dict):
            problems.append(Problem(f"{path}: clip {clip!r}", f"expected an object {{instance id: phrase}}, "
                                                               f"got {type(entries).__name__}"))
            continue
        out[clip] = {}
        for key, phrase in entries.items():
            where = f"{path}: clip {clip!r}, instance {key!r}"
            if not str(key).lstrip("-").isdigit():
                problems.append(Problem(where, "instance ids must be integers"))
            elif not isinstance(phrase, str) or not phrase.strip():
                problems.append(Problem(where, f"phrase must be a non-empty string, got {phrase!r}"))
            else:
                out[clip][int(key)] = " ".join(phrase.split())
    if problems:
        raise TrackletError(problems)
    return out


def attach_phrases(dataset: TrackletDataset, phrases: dict[str, dict[int, str]], source: str = PHRASES_FILE) -> None:
    """Set :attr:`Instance.phrase` from ``phrases``; a clip or instance the data set lacks is an error
    (a phrase meant for an object that is not there is a mistake, not something to skip)."""
    clips = {c.name: c for c in dataset.clips}
    problems: list[Problem] = []
    for name, entries in phrases.items():
        clip = clips.get(name)
        if clip is None:
            problems.append(Problem(f"{source}: clip {name!r}", f"no such clip in {dataset.source or 'the data set'}"))
            continue
        ids = {inst.id: inst for inst in clip.instances}
        for iid, phrase in entries.items():
            if iid not in ids:
                problems.append(Problem(f"{source}: clip {name!r}, instance {iid}",
                                        f"no such instance (the clip has {sorted(ids)})"))
            else:
                ids[iid].phrase = phrase
    if problems:
        raise TrackletError(problems)


def read_split_phrases(dataset: TrackletDataset, split_dir: str | Path) -> bool:
    """Attach ``<split_dir>/phrases.json`` if there is one; return whether there was."""
    path = Path(split_dir) / PHRASES_FILE
    if not path.is_file():
        return False
    attach_phrases(dataset, load_phrases(path), str(path))
    return True


def save_phrases(dataset: TrackletDataset, path: str | Path) -> None:
    """Write the phrases of ``dataset``'s instances (clips without any are left out)."""
    data = {c.name: {str(i.id): i.phrase for i in c.instances if i.phrase}
            for c in dataset.clips}
    data = {name: entries for name, entries in data.items() if entries}
    Path(path).write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
