"""Examples and uploads: every accepted format reads as the readers do; bad files are messages."""

import zipfile
from pathlib import Path

import pytest

from trackdiffusion.tracklets.formats import compare_datasets, read_tracklets
from trackdiffusion.webapp import sources

FIXTURES = Path(__file__).parents[1] / "fixtures" / "formats"


def test_examples_are_held_out_synthetic_clips_at_the_model_size():
    clips = sources.example_clips(32, 32, count=3)
    assert [c.name for c in clips] == ["val_00000", "val_00001", "val_00002"]
    assert all((c.width, c.height, c.num_frames) == (32, 32, sources.EXAMPLE_FRAMES) and c.instances and c.caption
               for c in clips)
    assert [c.caption for c in sources.example_clips(32, 32, count=3)] == [c.caption for c in clips]


def test_a_json_upload_reads_as_the_reader_does(tmp_path):
    path = FIXTURES / "ytvis" / "train.json"
    assert compare_datasets(sources.read_upload(path, tmp_path), read_tracklets(path)) == []


def test_a_zipped_mot_split_reads_as_the_folder(tmp_path):
    folder = FIXTURES / "mot" / "train"
    archive = tmp_path / "train.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for name in ("gt/gt.txt", "seqinfo.ini"):  # the other fixture sequence has no frame size
            z.write(folder / "MOT17-02-FRCNN" / name, f"train/MOT17-02-FRCNN/{name}")
    got = sources.read_upload(archive, tmp_path / "work")
    assert [c.name for c in got.clips] == ["MOT17-02-FRCNN"]
    want = read_tracklets(tmp_path / "work" / "train" / "train")
    assert compare_datasets(got, want) == []


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


@pytest.mark.parametrize("name, content, needle", [
    ("bad.json", "{not json", "could not read bad.json"),
    ("tracks.json", '{"videos": [{"id": 1}], "annotations": [{"video_id": 1}]}', "could not read tracks.json"),
    ("empty.json", "", "empty.json is empty"),
    ("fake.zip", "PK not really", "fake.zip is not a valid zip file"),
])
def test_malformed_uploads_are_refused_with_the_file_name(tmp_path, name, content, needle):
    with pytest.raises(sources.UploadError, match=needle):
        sources.read_upload(_write(tmp_path / name, content), tmp_path)


def test_limits_are_checked_before_parsing_or_extracting(tmp_path, monkeypatch):
    big = _write(tmp_path / "big.json", "x" * 2000)
    monkeypatch.setattr(sources, "MAX_UPLOAD_BYTES", 1024)
    with pytest.raises(sources.UploadError, match=r"big.json is 0.0 MB; uploads are limited to 0 MB"):
        sources.read_upload(big, tmp_path)
    monkeypatch.setattr(sources, "MAX_UPLOAD_BYTES", 10 * 2**20)
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("a.txt", "0" * 100_000)
    monkeypatch.setattr(sources, "MAX_UNZIPPED_BYTES", 50_000)
    with pytest.raises(sources.UploadError, match="bomb.zip unpacks to"):
        sources.read_upload(bomb, tmp_path / "work")
    assert not (tmp_path / "work").exists()


def test_a_zip_member_leaving_the_archive_is_refused(tmp_path):
    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as z:
        z.writestr("../outside.txt", "x")
    with pytest.raises(sources.UploadError, match=r"member '../outside.txt' points outside the archive"):
        sources.read_upload(evil, tmp_path / "work")
    assert not (tmp_path / "outside.txt").exists()
