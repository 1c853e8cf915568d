"""Helpers shared by the format modules: JSON records with locations, boxes, numbers, names.

Two kinds of bad input are told apart on purpose:

* structural problems (not JSON, a record that is not an object, a missing key, a value of the
  wrong type) raise :class:`~trackdiffusion.tracklets.errors.FormatError` at once, naming the
  file, record and field: such a file is usually not the format it claims to be, and a thousand
  copies of "missing key" help nobody;
* value problems (bad boxes, unknown categories, frames out of range, inconsistent sizes) are
  collected in a :class:`~trackdiffusion.tracklets.builder.ProblemLog` and raised together by
  :func:`finish_dataset`, so one run lists everything to fix.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..builder import ProblemLog
from ..clip import Clip, Instance
from ..dataset import TrackletDataset
from ..errors import FormatError

_MISSING = object()


def _type_name(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _integer(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError("an integer")
    return value


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError("a number")
    return float(value)


def _flag(value: Any) -> bool:
    # COCO writes iscrowd as 0/1, mmtracking's converters as true/false.
    if isinstance(value, bool) or (isinstance(value, int) and value in (0, 1)):
        return bool(value)
    raise TypeError("true/false or 0/1")


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError("a string")
    return value


def _name(value: Any) -> str:
    # Category names are sometimes ints (mmtracking's SOT files use {"id": 0, "name": 0}).
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise TypeError("a name (string or integer)")
    return str(value)


def _box(value: Any) -> list[float]:
    if not isinstance(value, list) or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
        raise TypeError("a list of numbers [x, y, w, h]")
    return [float(v) for v in value]


def _kind(expected: type) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        if not isinstance(value, expected):
            raise TypeError(f"a{'n' if expected.__name__[0] in 'aeiou' else ''} {expected.__name__}")
        return value
    return check


#: Value checkers for :meth:`Record.get`, by the name a reader asks for.
KINDS: dict[str, Callable[[Any], Any]] = {
    "int": _integer, "number": _number, "flag": _flag, "str": _text, "name": _name,
    "box": _box, "list": _kind(list), "dict": _kind(dict),
}


def check(value: Any, kind: str, where: str) -> Any:
    """``value`` converted by the :data:`KINDS` checker ``kind``; a mismatch raises :class:`FormatError`."""
    try:
        return KINDS[kind](value)
    except TypeError as err:
        raise FormatError(where, f"expected {err}, got {_type_name(value)} {value!r:.60}") from None


class Record:
    """One JSON object of a file and its location (``file: record``)."""

    def __init__(self, obj: Any, where: str):
        if not isinstance(obj, dict):
            raise FormatError(where, f"expected an object, got {_type_name(obj)}")
        self.obj, self.where = obj, where

    def at(self, field: str) -> str:
        """The location of ``field`` in this record."""
        return f"{self.where}: {field}"

    def get(self, key: str, kind: str, default: Any = _MISSING) -> Any:
        """``obj[key]`` checked to be of ``kind`` (see :data:`KINDS`).

        A missing key, or ``null`` when a default is given, returns the default; without a
        default either raises :class:`FormatError` naming the field.
        """
        value = self.obj.get(key, _MISSING)
        if value is _MISSING or (value is None and default is not _MISSING):
            if default is _MISSING:
                raise FormatError(self.at(key), "missing")
            return default
        return check(value, kind, self.at(key))

    def records(self, key: str, default: Any = _MISSING) -> Iterator["Record"]:
        """The objects of the list ``obj[key]``, located as ``<this record>: key[i] (id=...)``."""
        yield from records(self.get(key, "list", default), self.at(key))


def records(items: list, prefix: str) -> Iterator[Record]:
    """Each item of ``items`` as a :class:`Record` located ``prefix[i]``, with its id when it has one."""
    for i, obj in enumerate(items):
        ident = f" (id={obj['id']})" if isinstance(obj, dict) and "id" in obj else ""
        yield Record(obj, f"{prefix}[{i}]{ident}")


def load_json(path: str | Path) -> Any:
    """Parse ``path``; a missing file or malformed JSON raises :class:`FormatError` with the location."""
    text = read_text(Path(path))
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise FormatError(f"{path}: line {err.lineno} column {err.colno}", f"malformed JSON: {err.msg}") from None


def _plain(value: Any) -> Any:
    # Frame indices and sizes often arrive as numpy scalars, which json cannot encode.
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def write_json(obj: Any, path: str | Path) -> None:
    """Write ``obj`` as JSON; ``allow_nan=False`` because NaN is not JSON and other tools reject it.

    The text goes to a temporary file renamed over ``path``: a failed write (a NaN, a full disk)
    leaves no truncated file behind.
    """
    write_text(Path(path), json.dumps(obj, allow_nan=False, default=_plain))


def write_text(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` through a temporary file in the same folder, then rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


def read_text(path: Path) -> str:
    """The UTF-8 text of ``path``; a missing file, a folder or other bytes raise :class:`FormatError`."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FormatError(str(path), "no such file") from None
    except IsADirectoryError:
        raise FormatError(str(path), "a folder, where a file is expected") from None
    except UnicodeDecodeError as err:
        line = path.read_bytes()[:err.start].count(b"\n") + 1
        raise FormatError(f"{path}: line {line} (byte {err.start})", "not UTF-8 text") from None


def json_file(path: str | Path, default_name: str) -> Path:
    """``path`` itself when it names a ``.json`` file, else ``path / default_name`` (a directory)."""
    path = Path(path)
    return path if path.suffix == ".json" else path / default_name


# ------------------------------------------------------------------------------------ boxes
def xywh_to_xyxy(xywh: list[float]) -> list[float]:
    """``[x, y, w, h]`` to ``[x0, y0, x1, y1]``; other lengths pass through for the builder to report."""
    if len(xywh) != 4:
        return list(xywh)
    x, y, w, h = xywh
    return [x, y, x + w, y + h]


def _extent(lo: float, hi: float) -> float:
    """The shortest decimal ``d`` with ``lo + d == hi`` bit for bit (the reader adds them back).

    ``hi - lo`` itself prints with float noise (``57.30699999999999`` for a file's ``57.307``),
    and in rare ties ``lo + (hi - lo)`` lands one ulp off ``hi``; a neighbour then restores it.
    """
    d = hi - lo
    for digits in range(1, 18):
        candidate = float(f"{d:.{digits}g}")
        if lo + candidate == hi:
            return candidate
    for candidate in (math.nextafter(d, math.inf), math.nextafter(d, -math.inf)):
        if lo + candidate == hi:
            return candidate
    return d


def xyxy_to_xywh(box: np.ndarray) -> list[float]:
    """``[x0, y0, x1, y1]`` to ``[x, y, w, h]`` as Python floats that round-trip exactly."""
    x0, y0, x1, y1 = (float(v) for v in box)
    return [x0, y0, _extent(x0, x1), _extent(y0, y1)]


# --------------------------------------------------------------------------- text formats
def format_number(value: float) -> str:
    """Shortest text that parses back to ``value`` exactly; integral values without ``.0``."""
    value = float(value)
    if value.is_integer() and abs(value) < 2 ** 53:
        return str(int(value))
    return repr(value)


def parse_numbers(line: str, where: str) -> list[float]:
    """The comma-separated numbers of one text line; anything else raises :class:`FormatError` naming the column."""
    out = []
    for column, token in enumerate(line.split(","), start=1):
        try:
            out.append(float(token))
        except ValueError:
            raise FormatError(f"{where}: column {column}", f"{token.strip()!r} is not a number") from None
    return out


def read_lines(path: Path) -> list[tuple[int, str]]:
    """The non-blank lines of a text file with their 1-based numbers (CRLF tolerated)."""
    text = read_text(path)
    return [(n, line.strip()) for n, line in enumerate(text.splitlines(), start=1) if line.strip()]


def dir_name(name: str) -> str:
    """A clip name usable as one directory name (TAO and image-only names hold slashes)."""
    return name.replace("/", "_").replace("\\", "_")


# --------------------------------------------------------------------------------- track ids
class TrackIds:
    """String track ids (BDD100K's ``"00122062"``, bdd100k's COCO export) as integers per video.

    A decimal string keeps its value where it is free in its video, any other string gets the
    video's next free integer; :meth:`strings` gives the originals back for the writers.
    """

    def __init__(self) -> None:
        self._ids: dict[str, dict[str, int]] = {}

    def get(self, video: str, label: str) -> int:
        ids = self._ids.setdefault(video, {})
        if label not in ids:
            used = set(ids.values())
            wanted = int(label) if label.isdecimal() else None
            ids[label] = wanted if wanted is not None and wanted not in used else max(used, default=0) + 1
        return ids[label]

    def strings(self) -> dict[str, dict[int, str]]:
        """Per video, instance id -> the string read."""
        return {video: {i: s for s, i in ids.items()} for video, ids in self._ids.items()}


# ---------------------------------------------------------------------------- categories
def read_categories(root: Record, key: str = "categories") -> dict[int, str] | None:
    """The ``[{id, name}, ...]`` table of a COCO-style file, or None when the key is absent."""
    if key not in root.obj:
        return None
    table: dict[int, str] = {}
    for rec in root.records(key):
        cid = rec.get("id", "int")
        if cid in table:
            raise FormatError(rec.at("id"), f"duplicate category id {cid}")
        table[cid] = rec.get("name", "name")
    return table


def category_records(categories: dict[int, str]) -> list[dict]:
    """The ``[{id, name}, ...]`` table written by the COCO-style writers."""
    return [{"id": int(cid), "name": name} for cid, name in categories.items()]


# ---------------------------------------------------------------------------- attributes
def scalar_attributes(obj: dict, skip: set[str]) -> dict[str, float]:
    """Numeric and boolean fields of ``obj`` (minus ``skip``) as floats, kept for round trips."""
    return {k: float(v) for k, v in obj.items()
            if k not in skip and isinstance(v, (bool, int, float)) and math.isfinite(v)}


def frame_attributes(inst: Instance, t: int) -> dict[str, float]:
    """The attributes of ``inst`` known in frame ``t`` (NaN means the record had no such field)."""
    return {k: float(v[t]) for k, v in inst.attributes.items() if np.isfinite(v[t])}


def frame_value(values: np.ndarray | None, t: int) -> float | None:
    """``values[t]`` as a float, or None when there are no values or it is NaN."""
    if values is None or not np.isfinite(values[t]):
        return None
    return float(values[t])


# ------------------------------------------------------------------------------ data sets
def video_ids(clips: list[Clip]) -> list[int]:
    """One distinct id per clip: its own ``video_id`` where it has a free one, else the next unused.

    Writers number videos with it, and the results readers match results to clips with it.
    """
    taken: set[int] = set()
    own = []
    for clip in clips:
        own.append(clip.video_id is not None and clip.video_id not in taken)
        if own[-1]:
            taken.add(clip.video_id)
    fresh = itertools.count(max(taken, default=0) + 1)
    return [clip.video_id if keep else next(fresh) for clip, keep in zip(clips, own)]


def finish_dataset(log: ProblemLog, clips: list[Clip], categories: dict[int, str], *,
                   image_root: str | Path | None = None, info: dict | None = None) -> TrackletDataset:
    """Check clip names are unique, raise the log's problems (warn about clipped boxes), wrap up."""
    first: dict[str, int] = {}
    for i, clip in enumerate(clips):
        if clip.name in first:
            log.add(f"{log.file}: clip {clip.name!r}", f"duplicate clip name (also clip #{first[clip.name]})")
        first.setdefault(clip.name, i)
    log.finish()
    return TrackletDataset(clips, categories, source=log.file,
                           image_root=None if image_root is None else str(image_root), info=info or {})
