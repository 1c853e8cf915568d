"""Metric tables as Markdown (for people) and JSON (for scripts), with one stable schema.

JSON schema (``SCHEMA``, version 1)::

    {
      "schema": "trackdiffusion.evaluation.report",
      "version": 1,
      "metric": "trackap",                      # machine name of the evaluation
      "title": "TrackAP (YouTube-VIS video AP on boxes)",
      "units": "x100; -1 = undefined",          # how to read the values
      "settings": {"gt": "val.json", ...},      # everything the numbers depend on
      "columns": ["AP", "AP50", ...],           # value names, in display order
      "rows": [{"name": "all", "values": {"AP": 45.4, "AP50": 64.1, ...}}, ...]
    }

Every row has a value (number, or ``null`` for nan / inf) for every column. The Markdown file
holds the title, one table (first column ``name``) and the settings as a list.
"""

from __future__ import annotations

import json
import math
import numbers
from dataclasses import dataclass, field
from pathlib import Path

SCHEMA = "trackdiffusion.evaluation.report"
VERSION = 1


@dataclass
class Report:
    """One metric table: ``rows`` are ``(name, {column: value})`` pairs."""

    metric: str
    title: str
    columns: list[str]
    rows: list[tuple[str, dict[str, float | int | None]]] = field(default_factory=list)
    settings: dict[str, object] = field(default_factory=dict)
    units: str = ""

    def add_row(self, name: str, values: dict[str, float | int | None]) -> "Report":
        """Append a row; values of columns it lacks are ``None``, extra keys are dropped."""
        self.rows.append((name, {c: values.get(c) for c in self.columns}))
        return self

    def to_dict(self) -> dict:
        """The JSON document (see the module docstring)."""
        return {
            "schema": SCHEMA,
            "version": VERSION,
            "metric": self.metric,
            "title": self.title,
            "units": self.units,
            "settings": {k: _jsonable(v) for k, v in self.settings.items()},
            "columns": list(self.columns),
            "rows": [{"name": name, "values": {c: _number(values.get(c)) for c in self.columns}}
                     for name, values in self.rows],
        }

    def to_markdown(self) -> str:
        lines = [f"## {self.title}", ""]
        lines.append("| name | " + " | ".join(self.columns) + " |")
        lines.append("|---|" + "---:|" * len(self.columns))
        for name, values in self.rows:
            lines.append(f"| {name} | " + " | ".join(_cell(values.get(c)) for c in self.columns) + " |")
        lines.append("")
        if self.units:
            lines.append(f"Units: {self.units}.")
        for key, value in self.settings.items():
            lines.append(f"- {key}: {value}")
        return "\n".join(lines).rstrip() + "\n"

    def write(self, out_dir: str | Path, stem: str | None = None) -> tuple[Path, Path]:
        """Write ``<stem>.json`` and ``<stem>.md`` (stem defaults to the metric name) into ``out_dir``."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        stem = stem or self.metric
        json_path, md_path = out / f"{stem}.json", out / f"{stem}.md"
        json_path.write_text(json.dumps(self.to_dict(), indent=2, allow_nan=False) + "\n")
        md_path.write_text(self.to_markdown())
        return json_path, md_path


def _number(value: object) -> float | int | None:
    """A JSON number: integers (numpy's too) stay integers, non-finite floats become ``None``."""
    if value is None:
        return None
    if isinstance(value, numbers.Integral):
        return int(value)
    value = float(value)
    return value if math.isfinite(value) else None


def _jsonable(value: object) -> object:
    """Settings as JSON: numbers via :func:`_number`, containers kept, the rest as strings."""
    if value is None or isinstance(value, numbers.Number):
        return _number(value)
    if isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return str(value)


def _cell(value: object) -> str:
    number = _number(value)
    if number is None:
        return "n/a"
    return str(number) if isinstance(number, int) else f"{number:.2f}"
