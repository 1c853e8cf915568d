"""Report tables: JSON schema and Markdown."""

from __future__ import annotations

import json

import numpy as np

from trackdiffusion.evaluation.report import Report


def _report():
    report = Report("demo", "Demo metric", ["AP", "count", "missing"], units="x100",
                    settings={"clips": np.int64(3), "path": "a.json", "ranges": (1, 2.5), "nan": float("nan")})
    report.add_row("all", {"AP": np.float64(45.4), "count": np.int64(7), "extra": 1.0})
    report.add_row("bad", {"AP": float("nan"), "count": 0, "missing": float("inf")})
    return report


def test_json_document():
    doc = _report().to_dict()
    assert doc == {
        "schema": "trackdiffusion.evaluation.report", "version": 1, "metric": "demo", "title": "Demo metric",
        "units": "x100", "settings": {"clips": 3, "path": "a.json", "ranges": [1, 2.5], "nan": None},
        "columns": ["AP", "count", "missing"],
        "rows": [{"name": "all", "values": {"AP": 45.4, "count": 7, "missing": None}},
                 {"name": "bad", "values": {"AP": None, "count": 0, "missing": None}}],
    }
    assert isinstance(doc["rows"][0]["values"]["count"], int)


def test_markdown_table():
    text = _report().to_markdown()
    assert text.splitlines()[:5] == [
        "## Demo metric", "", "| name | AP | count | missing |", "|---|---:|---:|---:|",
        "| all | 45.40 | 7 | n/a |",
    ]
    assert "- clips: 3" in text and "Units: x100." in text


def test_write_both_files(tmp_path):
    json_path, md_path = _report().write(tmp_path / "out")
    assert json_path.name == "demo.json" and md_path.name == "demo.md"
    assert json.loads(json_path.read_text())["rows"][1]["values"]["AP"] is None  # strict JSON, no NaN
    assert md_path.read_text() == _report().to_markdown()
