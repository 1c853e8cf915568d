"""Where the app's tracklets come from: bundled examples and uploaded files.

Examples are held-out clips of the synthetic world (the seed ``make demo`` uses, which the
shipped model never saw), rendered in-process, so nothing needs to ship but code. Uploads are
one file any reader knows (YouTube-VIS, CocoVID or BDD100K json, MOT ``gt.txt``, GOT-10k
``groundtruth.txt``) or a ``.zip`` of a sequence or split folder (MOT, GOT-10k, the project's
layout). Every limit is checked before anything is parsed or extracted, so an oversized or
hostile file costs nothing but a message.
"""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

from ..demo import HELD_OUT_SEED
from ..tracklets import Clip, TrackletDataset
from ..tracklets.formats import read_tracklets
from ..tracklets.synthetic import SyntheticWorld, WorldConfig

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
MAX_UNZIPPED_BYTES = 200 * 1024 * 1024  # a zip bomb stops here, before extraction
MAX_ZIP_MEMBERS = 20_000
EXAMPLE_CLIPS = 6
EXAMPLE_FRAMES = 16


class UploadError(ValueError):
    """An upload the app refuses; the message is shown in the page as it is."""


def example_clips(width: int, height: int, count: int = EXAMPLE_CLIPS) -> list[Clip]:
    """``count`` held-out synthetic clips (tracklets and captions) at ``width x height``."""
    world = SyntheticWorld(WorldConfig(train_clips=0, val_clips=count, num_frames=EXAMPLE_FRAMES,
                                       width=width, height=height, seed=HELD_OUT_SEED))
    return [world.render("val", i).clip for i in range(count)]


def read_upload(path: str | Path, workdir: str | Path) -> TrackletDataset:
    """The tracklets of an uploaded file; a ``.zip`` is extracted into ``workdir`` first.

    Raises :class:`UploadError` for a file over the limits or one no reader accepts (with the
    reader's message, which names the bad record and field).
    """
    path = Path(path)
    size = path.stat().st_size
    if size > MAX_UPLOAD_BYTES:
        raise UploadError(f"{path.name} is {size / 2**20:.1f} MB; uploads are limited to "
                          f"{MAX_UPLOAD_BYTES // 2**20} MB")
    if size == 0:
        raise UploadError(f"{path.name} is empty")
    target = path
    if path.suffix.lower() == ".zip":
        target = _extract(path, Path(workdir) / path.stem)
    try:
        dataset = read_tracklets(target)
    except (ValueError, KeyError, TypeError, OSError) as err:  # TrackletError / FormatError are ValueErrors
        raise UploadError(f"could not read {path.name}: {err}") from err
    if not dataset.clips:
        raise UploadError(f"{path.name} holds no clips")
    return dataset


def _extract(path: Path, out: Path) -> Path:
    """Extract ``path`` into ``out`` and return the folder to read (its single top folder, if any)."""
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile as err:
        raise UploadError(f"{path.name} is not a valid zip file ({err})") from err
    with archive:
        members = archive.infolist()
        if len(members) > MAX_ZIP_MEMBERS:
            raise UploadError(f"{path.name} holds {len(members)} files; at most {MAX_ZIP_MEMBERS} are accepted")
        total = sum(m.file_size for m in members)
        if total > MAX_UNZIPPED_BYTES:
            raise UploadError(f"{path.name} unpacks to {total / 2**20:.0f} MB; at most "
                              f"{MAX_UNZIPPED_BYTES // 2**20} MB are accepted")
        for m in members:
            name = Path(m.filename)
            if name.is_absolute() or ".." in name.parts:
                raise UploadError(f"{path.name}: member {m.filename!r} points outside the archive")
        if out.exists():
            shutil.rmtree(out)
        archive.extractall(out)
    entries = [p for p in out.iterdir() if p.name != "__MACOSX"]
    return entries[0] if len(entries) == 1 and entries[0].is_dir() else out
