"""MOTChallenge: ``<seq>/gt/gt.txt`` and ``<seq>/seqinfo.ini``, frames and ids 1-based.

``gt.txt`` rows are ``frame, id, x, y, w, h, conf, class, visibility`` (MOT16/17/20, 9 columns)
or ``frame, id, x, y, w, h, conf, wx, wy, wz`` (MOT15, 10 columns). Reading keeps:

* ``conf`` as the per-frame attribute ``mot_conf`` (1 when the column is absent). Rows with
  ``conf == 0`` are MOTChallenge's "ignore" boxes (distractors, static people, occluders): they
  stay instances, marked by ``mot_conf == 0``, so that a round trip and the evaluation keep them.
* ``class`` as the category id. Names come from ``categories=`` or a ``classes.txt`` beside the
  sequences (other ids are then errors), else from MOTChallenge's table :data:`MOT_CLASSES`,
  where ids outside it are named ``class_<id>`` with a warning. A missing class or ``-1`` means
  pedestrian (1), as in MOT15 and tracker outputs.
* ``visibility`` when >= 0; MOT15's world coordinates as attributes ``world_x/y/z`` unless -1.
  Data with world coordinates is written back in MOT15's 10 columns, which have no class.

``seqinfo.ini`` gives name, size, length, fps and the image pattern (frame names are
``<seq>/<imDir>/000001<imExt>`` relative to the folder that holds the sequences, with MOT's
defaults ``img1`` and ``.jpg`` where the file does not say). MOT15's trimmed files carry only name
and length: ``width=``/``height=`` then supply the size, else the reader names the missing field.

A path may be a sequence folder, a split folder of sequences (folders without ``gt/gt.txt``,
such as ``results/``, are skipped) or a ``gt.txt`` file. :func:`write` lays out
``<path>/<clip>/gt/gt.txt`` and a full ``seqinfo.ini`` (``frameRate`` only when the fps is known:
a made-up rate would read back as a fact). Sequences read back sorted by folder name.

Tracker results (``<seq>.txt`` per sequence; ``conf`` is the score, -1 for none) are read against
ground truth with :func:`read_results` and written with :func:`write_results`.
"""

from __future__ import annotations

import configparser
import math
import warnings
from pathlib import Path, PurePosixPath

from ..builder import ClipBuilder, ProblemLog
from ..clip import Clip
from ..dataset import TrackletDataset
from ..errors import FormatError
from .common import (dir_name, finish_dataset, format_number, frame_attributes, frame_value, parse_numbers,
                     read_lines, read_text, write_text, xywh_to_xyxy, xyxy_to_xywh)

#: MOTChallenge class ids (MOT16/17/20, as TrackEval names them).
MOT_CLASSES = {1: "pedestrian", 2: "person_on_vehicle", 3: "car", 4: "bicycle", 5: "motorbike",
               6: "non_mot_vehicle", 7: "static_person", 8: "distractor", 9: "occluder",
               10: "occluder_on_ground", 11: "occluder_full", 12: "reflection", 13: "crowd"}
PEDESTRIAN = 1
WORLD = ("world_x", "world_y", "world_z")
#: The category table beside the sequences: ``<id>,<name>`` per line (the name may hold commas).
CLASS_TABLE = "classes.txt"
_FIELDS = {"box": "x,y,w,h", "frame": "frame", "category": "class", "visibility": "visibility",
           "score": "conf"}


def read(path: str | Path, *, width: int | None = None, height: int | None = None,
         categories: dict[int, str] | None = None) -> TrackletDataset:
    """Read MOTChallenge ground truth; ``width``/``height`` only fill in what seqinfo.ini lacks.

    ``categories`` defaults to the :data:`CLASS_TABLE` file beside the sequences, else
    MOTChallenge's own classes; ``dataset.info["mot_classes"]`` says which (``"motchallenge"``
    or ``"own"``), so the evaluation knows whether MOTChallenge's rules apply.
    """
    path = Path(path)
    root, sequences = _sequences(path)
    skipped = _skipped(path, sequences)
    if skipped:
        warnings.warn(f"{path}: skipped sequence folder(s) without ground truth: "
                      f"{', '.join(f'{name} ({why})' for name, why in skipped.items())}", stacklevel=2)
    log = ProblemLog(str(path))
    if categories is None and (root / CLASS_TABLE).is_file():
        categories = _read_class_table(root / CLASS_TABLE)
    table = dict(MOT_CLASSES if categories is None else categories)
    derived: list[int] | None = [] if categories is None else None
    clips, folders = [], {}
    for seq in sequences:
        ini = (seq.parent if seq.is_file() else seq) / "seqinfo.ini"
        info = _seqinfo(ini)
        size = []
        for key, given in (("imWidth", width), ("imHeight", height)):
            value = _value(info, key, ini, int)
            size.append(given if value is None else value)
            if size[-1] is None:
                missing = "missing" if ini.is_file() else "missing (no seqinfo.ini)"
                log.add(f"{ini}: [Sequence]: {key}", f"{missing}; pass width= and height= to the reader (--width and --height on the command line)")
        if None in size:
            continue
        gt = seq if seq.is_file() else seq / "gt" / "gt.txt"
        name = info.get("name", gt.stem if seq.is_file() else seq.name)
        length = _value(info, "seqLength", ini, int)
        if length is not None and length < 1:
            raise FormatError(f"{ini}: [Sequence]: seqLength", f"{length} frames; a sequence has at least 1")
        builder = ClipBuilder(log, name, size[0], size[1], length, table, str(gt),
                              fps=_value(info, "frameRate", ini, float))
        _add_rows(builder, gt, results=False, derived=derived)
        clip = _finish_clip(builder)
        stem = name if seq.is_file() else seq.name
        folders[name] = stem
        clip.frame_names = [f"{stem}/{info.get('imDir', 'img1')}/{t + 1:06d}{info.get('imExt', '.jpg')}"
                            for t in range(clip.num_frames)]
        clips.append(clip)
    if derived:
        warnings.warn(f"{path}: classes outside MOTChallenge's table named class_<id>: {derived}", stacklevel=2)
    return finish_dataset(log, clips, table, image_root=root,
                          info={"mot_folders": folders, "mot_classes": "motchallenge" if categories is None else "own",
                                "mot_skipped": skipped})


def write(dataset: TrackletDataset, path: str | Path) -> None:
    """Write ``<path>/<clip>/gt/gt.txt`` and ``seqinfo.ini`` per clip (slashes in names become ``_``).

    Sequences read from MOT folders go back to folders of the same names. A category table other
    than MOTChallenge's classes is written to ``<path>/classes.txt`` (:data:`CLASS_TABLE`), where
    the reader finds it: class ids alone would rename BDD100K's ``rider`` to ``person_on_vehicle``.
    """
    folders = dataset.info.get("mot_folders", {})
    if any(MOT_CLASSES.get(cid) != name for cid, name in dataset.categories.items()):
        write_text(Path(path) / CLASS_TABLE, "".join(f"{cid},{name}\n" for cid, name in sorted(dataset.categories.items())))
    for clip in dataset.clips:
        seq = Path(path) / folders.get(clip.name, dir_name(clip.name))
        _write_rows(clip, seq / "gt" / "gt.txt", results=False)
        im_dir, im_ext = _image_pattern(clip)
        lines = ["[Sequence]", f"name={clip.name}", f"imDir={im_dir}"]
        if clip.fps is not None:
            lines.append(f"frameRate={format_number(clip.fps)}")
        lines += [f"seqLength={clip.num_frames}", f"imWidth={clip.width}", f"imHeight={clip.height}",
                  f"imExt={im_ext}"]
        write_text(seq / "seqinfo.ini", "\n".join(lines) + "\n")


def read_results(path: str | Path, reference: TrackletDataset) -> TrackletDataset:
    """Tracker results (a folder of ``<seq>.txt`` or one file) shaped like ``reference``.

    ``conf`` becomes the per-frame score (-1: no score). For a folder every reference clip is kept
    (no file: no predictions); for one file only its clip. Files are matched to clips by the
    sequence's folder name, as TrackEval does (``HT21-01.txt`` for the folder ``HT21-01`` whose
    seqinfo.ini says ``name=HT-01``), or by clip name; one file against a reference of one clip
    is that clip's, whatever the names.
    """
    path = Path(path)
    files = sorted(p for p in path.glob("*.txt") if p.name != CLASS_TABLE) if path.is_dir() else [path]
    log = ProblemLog(str(path))
    folders, skipped = reference.info.get("mot_folders", {}), reference.info.get("mot_skipped", {})
    by_name = {dir_name(c.name): c for c in reference.clips} | {c.name: c for c in reference.clips} \
        | {folders[c.name]: c for c in reference.clips if c.name in folders}
    if path.is_file() and len(reference.clips) == 1:
        by_name[path.stem] = reference.clips[0]
    chosen: dict[str, Path | None] = {c.name: None for c in reference.clips} if path.is_dir() else {}
    for file in files:
        if file.stem in by_name:
            chosen[by_name[file.stem].name] = file
        elif file.stem in skipped:
            log.add(str(file), f"no clip named {file.stem!r} in the reference: its ground-truth sequence folder "
                               f"was skipped ({skipped[file.stem]})")
        else:
            log.add(str(file), f"no clip named {file.stem!r} in the reference")
    clips = []
    for name, file in chosen.items():
        ref = reference.clip(name)
        builder = ClipBuilder(log, ref.name, ref.width, ref.height, ref.num_frames, reference.categories,
                              str(file or path), fps=ref.fps, frame_names=ref.frame_names, video_id=ref.video_id,
                              caption=ref.caption)
        if file is not None:
            _add_rows(builder, file, results=True)
        clips.append(_finish_clip(builder))
    return finish_dataset(log, clips, reference.categories, image_root=reference.image_root)


def write_results(dataset: TrackletDataset, path: str | Path) -> None:
    """Write ``<path>/<clip>.txt`` per clip in the MOTChallenge submission layout (10 columns, no class)."""
    for clip in dataset.clips:
        _write_rows(clip, Path(path) / f"{dir_name(clip.name)}.txt", results=True)


def _sequences(path: Path) -> tuple[Path, list[Path]]:
    """(folder the frame names are relative to, sequence folders or a lone text file)."""
    if path.is_file():
        seq = path.parent.parent if path.parent.name == "gt" else path
        return (seq.parent if seq.is_dir() else path.parent), [seq]
    if (path / "gt" / "gt.txt").is_file():
        return path.parent, [path]
    if path.is_dir():
        odd = sorted(p / "gt" / "gt.txt" for p in path.iterdir() if (p / "gt" / "gt.txt").is_dir())
        if odd:  # a sequence that would vanish from the split without a word
            raise FormatError(str(odd[0]), "a folder, where the sequence's ground-truth file is expected")
        seqs = sorted(p for p in path.iterdir() if (p / "gt" / "gt.txt").is_file())
        if seqs:
            return path, seqs
    raise FormatError(str(path), "not a MOTChallenge sequence (<seq>/gt/gt.txt), split folder or gt.txt")


def _skipped(path: Path, sequences: list[Path]) -> dict[str, str]:
    """Folders of a split that look like sequences (a ``seqinfo.ini``) but have no ``gt/gt.txt``.

    Other folders (``results/``) are skipped without a word; these are named, because a sequence
    that vanishes would make a later error blame the predictions for it.
    """
    if not path.is_dir() or path in sequences:
        return {}
    return {p.name: "no gt/gt.txt" for p in sorted(path.iterdir())
            if p not in sequences and (p / "seqinfo.ini").is_file()}


def _read_class_table(file: Path) -> dict[int, str]:
    table: dict[int, str] = {}
    for n, line in read_lines(file):
        cid, sep, name = line.partition(",")
        where = f"{file}: line {n}"
        if not sep or not cid.strip().lstrip("-").isdigit() or not name.strip():
            raise FormatError(where, f"expected '<integer id>,<name>', got {line!r}")
        if int(cid) in table:
            raise FormatError(where, f"duplicate class id {int(cid)}")
        table[int(cid)] = name.strip()
    return table


def _seqinfo(ini: Path) -> dict[str, str]:
    if not ini.is_file():
        return {}
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # keys are camelCase (imWidth)
    try:
        parser.read_string(read_text(ini), source=str(ini))
    except configparser.Error as err:
        raise FormatError(str(ini), f"malformed ini: {err.message}") from None
    if not parser.has_section("Sequence"):
        raise FormatError(str(ini), "no [Sequence] section")
    return dict(parser["Sequence"])


def _value(info: dict[str, str], key: str, ini: Path, kind: type) -> int | float | None:
    """``info[key]`` parsed as ``kind`` (int or float), None when absent."""
    if key not in info:
        return None
    try:
        return kind(info[key])
    except ValueError:
        expected = "an integer" if kind is int else "a number"
        raise FormatError(f"{ini}: [Sequence]: {key}", f"{info[key]!r} is not {expected}") from None


def _add_rows(builder: ClipBuilder, file: Path, results: bool, derived: list[int] | None = None) -> None:
    """Feed the rows of a gt.txt (``results=False``) or a tracker file to ``builder``.

    Class ids >= 0 missing from the builder's table are named and listed in ``derived``
    when it is given, else left for the builder to report as unknown.
    """
    columns = None
    for n, line in read_lines(file):
        where = f"{file}: line {n}"
        if "," not in line and len(line.split()) == 6:
            raise FormatError(where, "MOTS (frame id class height width RLE): segmentation masks are not "
                                     "supported; MOTChallenge boxes are comma-separated frame,id,x,y,w,h,...")
        v = parse_numbers(line, where)
        if len(v) < 6:
            raise FormatError(where, f"expected at least 6 columns (frame,id,x,y,w,h), got {len(v)}")
        # The column count decides the layout (MOT15's world coordinates or class, visibility).
        first = columns = columns or (len(v), n)
        if not results and len(v) != first[0]:
            builder.log.add(where, f"{len(v)} columns where line {first[1]} has {first[0]}")
            continue
        if not (v[0].is_integer() and v[1].is_integer()):
            builder.log.add(f"{where}: frame,id", f"frame {v[0]} and id {v[1]} must be integers")
            continue
        frame, conf = int(v[0]), v[6] if len(v) > 6 else None
        if conf is not None and not math.isfinite(conf):
            builder.log.add(f"{where}: conf", f"conf {conf} is not a finite number")
            continue
        T = builder.num_frames
        if frame < 1 or (T is not None and frame > T):
            builder.log.add(f"{where}: frame", f"frame {frame} out of range 1..{T or 'inf'}")
            continue
        attributes, category, visibility = {}, PEDESTRIAN, None
        if len(v) >= 10:
            if v[7:10] != [-1.0] * 3:
                attributes = dict(zip(WORLD, v[7:10]))
        else:
            if len(v) > 7 and v[7] != -1:
                category = int(v[7]) if v[7].is_integer() else v[7]
                if derived is not None and isinstance(category, int) and category >= 0 \
                        and category not in builder.categories:
                    builder.categories[category] = f"class_{category}"
                    derived.append(category)
            if len(v) > 8 and v[8] >= 0:
                visibility = v[8]
        if not results:
            attributes["mot_conf"] = 1.0 if conf is None else conf
        builder.add_box(int(v[1]), frame - 1, xywh_to_xyxy(v[2:6]), category, where,
                        visibility=visibility, attributes=attributes, fields=_FIELDS,
                        score=conf if results and conf != -1 else None)


def _finish_clip(builder: ClipBuilder) -> Clip:
    clip = builder.build()
    clip.instances.sort(key=lambda inst: inst.id)  # files come sorted by frame or by id
    return clip


def _write_rows(clip: Clip, file: Path, results: bool) -> None:
    """One row per present box, sorted by frame then id; 10 columns for results and MOT15 data."""
    world = results or any(k in inst.attributes for inst in clip.instances for k in WORLD)
    rows = []
    for inst in clip.instances:
        for t in inst.frames().tolist():
            attrs = frame_attributes(inst, t)
            if results:
                conf = frame_value(inst.score, t)
                conf = -1.0 if conf is None else conf
            else:
                conf = attrs.get("mot_conf", 1.0)
            if world:
                tail = [attrs.get(k, -1.0) for k in WORLD]
            else:
                visibility = frame_value(inst.visibility, t)
                tail = [inst.category_id, -1.0 if visibility is None else visibility]
            rows.append((t + 1, inst.id, *xyxy_to_xywh(inst.boxes[t]), conf, *tail))
    rows.sort(key=lambda row: row[:2])
    write_text(file, "".join(",".join(map(format_number, row)) + "\n" for row in rows))


def _image_pattern(clip: Clip) -> tuple[str, str]:
    """(imDir, imExt) of frame names laid out as MOT's ``<seq>/<imDir>/000001<ext>``, else the defaults."""
    if clip.frame_names:
        first = PurePosixPath(clip.frame_names[0])
        if len(first.parts) >= 3 and first.parts[0] == dir_name(clip.name) and first.stem == "000001":
            return str(first.parent.relative_to(first.parts[0])), first.suffix
        if first.suffix:
            return "img1", first.suffix
    return "img1", ".jpg"
