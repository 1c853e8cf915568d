"""``trackdiffusion convert`` and ``trackdiffusion validate``."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from trackdiffusion.cli.main import app
from trackdiffusion.tracklets.formats import compare_datasets, read_tracklets

FIXTURES = Path(__file__).parents[1] / "fixtures" / "formats"
runner = CliRunner()


def test_validate_prints_a_summary():
    result = runner.invoke(app, ["validate", str(FIXTURES / "cocovid" / "sot_style.json")])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "valid cocovid: 2 clips, 2 instances, 4 boxes"


def test_validate_lists_each_problem_with_its_location_and_exits_1():
    result = runner.invoke(app, ["validate", str(FIXTURES / "mot" / "train")])
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert len(lines) == 2
    assert lines[0].endswith("TUD-Stadtmitte/seqinfo.ini: [Sequence]: imWidth: missing; pass width= and height= "
                             "to the reader (--width and --height on the command line)")


def test_validate_takes_the_size_and_echoes_warnings():
    result = runner.invoke(app, ["validate", str(FIXTURES / "mot" / "train"), "--width", "640", "--height", "480"])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "valid mot: 2 clips, 5 instances, 11 boxes"
    assert "partly outside" not in result.stderr  # boxes are kept as annotated


def test_validate_bad_json_and_world_folders(tmp_path):
    (tmp_path / "bad.json").write_text('{"videos": [}')
    result = runner.invoke(app, ["validate", str(tmp_path / "bad.json"), "--format", "ytvis"])
    assert result.exit_code == 1 and "bad.json: line 1 column 13: malformed JSON" in result.stdout
    (tmp_path / "world.json").write_text("{}")
    (tmp_path / "train").mkdir()
    result = runner.invoke(app, ["validate", str(tmp_path)])
    assert result.exit_code == 1 and "pass one of its split folders" in result.stdout


def test_size_options_only_for_formats_that_need_them():
    result = runner.invoke(app, ["validate", str(FIXTURES / "ytvis" / "train.json"), "--width", "9"])
    assert result.exit_code == 2 and "does not apply to ytvis" in result.output


def test_convert_writes_the_target_format(tmp_path):
    src = FIXTURES / "got10k" / "train"
    result = runner.invoke(app, ["convert", str(src), str(tmp_path / "out.json"), "--to", "ytvis"])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"converted got10k -> ytvis: 2 clips, 2 instances, 5 boxes written to " \
                                    f"{tmp_path / 'out.json'}"
    videos = json.loads((tmp_path / "out.json").read_text())["videos"]
    assert [v["name"] for v in videos] == ["GOT-10k_Train_000001", "GOT-10k_Train_000002"]
    assert compare_datasets(read_tracklets(tmp_path / "out.json"),
                            read_tracklets(tmp_path / "out.json", "ytvis")) == []


def test_convert_with_explicit_source_format_and_size(tmp_path):
    src = FIXTURES / "mot" / "train" / "TUD-Stadtmitte"
    result = runner.invoke(app, ["convert", str(src), str(tmp_path / "bdd"), "--from", "mot", "--to", "bdd",
                                 "--width", "640", "--height", "480"])
    assert result.exit_code == 0, result.output
    written = json.loads((tmp_path / "bdd" / "TUD-Stadtmitte.json").read_text())
    assert written["config"]["imageSize"] == {"width": 640, "height": 480}  # Scalabel's layout keeps the size


def test_convert_refuses_bad_input(tmp_path):
    result = runner.invoke(app, ["convert", str(FIXTURES / "cocovid" / "tao.json"), str(tmp_path / "x"),
                                 "--to", "mot"])
    assert result.exit_code == 1
    assert "tao.json: annotations[1] (id=3): category_id: unknown category 95" in result.stderr
    assert not (tmp_path / "x").exists()
    result = runner.invoke(app, ["convert", str(FIXTURES / "cocovid" / "tao.json"), str(tmp_path / "x"),
                                 "--to", "coco"])
    assert result.exit_code == 2
