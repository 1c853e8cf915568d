"""New tracklets sampled from simple statistics of a data set (``trackdiffusion tracklets sample --fit``).

Fitted (:func:`fit`), all in units of the frame size so that they transfer between resolutions:

* the categories of each clip, kept together as the clip's multiset: sampling a clip's objects
  draws one of these, which reproduces objects per clip by category and their co-occurrence;
* per category, log box width and log aspect ratio (normal);
* per category, per-frame velocity of the box centre (normal per axis) and acceleration (the
  standard deviation of its change);
* entry and exit rates: the fraction of instances that appear after the first frame / leave
  before the last, and the distribution of the frame where they do.

:func:`sample` draws a clip: its category multiset, then per instance a size, a start position
(uniform), a velocity, a random walk of accelerations, an entry / exit frame, clipped to the
frame as readers clip boxes. :func:`describe` measures the same statistics on any data set, for
the side-by-side report.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .clip import Clip, Instance
from .dataset import TrackletDataset


@dataclass
class CategoryStats:
    log_width: tuple[float, float]   # mean, std of log(box width / frame width)
    log_aspect: tuple[float, float]  # mean, std of log(box height / box width)
    velocity: tuple[float, float, float, float]  # mean x, std x, mean y, std y (frame sizes per frame)
    acceleration: float              # std of the change of velocity per frame


@dataclass
class TrackletStats:
    multisets: list[list[str]]
    categories: dict[str, CategoryStats]
    entry_rate: float
    exit_rate: float
    num_frames: int
    size: tuple[int, int]
    fps: float | None = None
    extra: dict = field(default_factory=dict)


def _instance_measures(clip: Clip, inst: Instance) -> dict:
    b = inst.boxes[inst.present]
    w = (b[:, 2] - b[:, 0]) / clip.width
    h = (b[:, 3] - b[:, 1]) / clip.height * clip.height / clip.width  # in frame-width units
    centre = np.stack([(b[:, 0] + b[:, 2]) / 2 / clip.width, (b[:, 1] + b[:, 3]) / 2 / clip.height], axis=1)
    frames = inst.frames()
    step = np.diff(frames)
    velocity = np.diff(centre, axis=0) / step[:, None] if len(frames) > 1 else np.zeros((0, 2))
    return {"log_width": np.log(w), "log_aspect": np.log(h / w), "velocity": velocity,
            "acceleration": np.diff(velocity, axis=0).ravel(), "entered": frames[0] > 0,
            "exited": frames[-1] < clip.num_frames - 1}


def _gather(dataset: TrackletDataset) -> dict[str, dict[str, list]]:
    per: dict[str, dict[str, list]] = {}
    for clip in dataset.clips:
        for inst in clip.instances:
            if not inst.present.any():
                continue
            m = _instance_measures(clip, inst)
            bucket = per.setdefault(clip.categories[inst.category_id], {k: [] for k in m})
            for k, v in m.items():
                bucket[k].append(v)
    return per


def _normal(values: list[np.ndarray]) -> tuple[float, float]:
    x = np.concatenate([np.atleast_1d(v) for v in values]) if values else np.zeros(0)
    return (float(x.mean()), float(x.std())) if x.size else (0.0, 0.0)


def fit(dataset: TrackletDataset) -> TrackletStats:
    """The statistics of ``dataset`` (module docstring); raises on a data set without instances."""
    per = _gather(dataset)
    if not per:
        raise ValueError(f"{dataset.source or 'data set'}: no instances to fit statistics to")
    cats = {}
    for name, m in per.items():
        vel = np.concatenate(m["velocity"]) if m["velocity"] else np.zeros((0, 2))
        vx, vy = (_normal([vel[:, k]]) for k in (0, 1))
        acc = np.concatenate(m["acceleration"]) if m["acceleration"] else np.zeros(0)
        cats[name] = CategoryStats(_normal(m["log_width"]), _normal(m["log_aspect"]), (*vx, *vy),
                                   float(acc.std()) if acc.size else 0.0)
    flags = [(e, x) for m in per.values() for e, x in zip(m["entered"], m["exited"])]
    lengths = [c.num_frames for c in dataset.clips]
    first = dataset.clips[0]
    return TrackletStats(
        multisets=[sorted(c.categories[i.category_id] for i in c.instances) for c in dataset.clips],
        categories=cats, entry_rate=float(np.mean([e for e, _ in flags])),
        exit_rate=float(np.mean([x for _, x in flags])), num_frames=int(np.median(lengths)),
        size=(first.width, first.height), fps=first.fps)


def sample(stats: TrackletStats, categories: dict[int, str], count: int, seed: int,
           num_frames: int | None = None, size: tuple[int, int] | None = None, prefix: str = "sampled") -> TrackletDataset:
    """``count`` new clips drawn from ``stats`` (seeded; clip ``i`` from ``default_rng([seed, i])``)."""
    T = num_frames or stats.num_frames
    W, H = size or stats.size
    ids = {v: k for k, v in categories.items()}
    clips = []
    for i in range(count):
        rng = np.random.default_rng([seed, i])
        names = stats.multisets[int(rng.integers(len(stats.multisets)))]
        instances = []
        for name in names:
            inst = _sample_instance(stats.categories[name], T, W, H, stats, rng, len(instances) + 1, ids[name])
            if inst is not None:
                instances.append(inst)
        clips.append(Clip(f"{prefix}_{i:05d}", W, H, T, categories, instances, fps=stats.fps).validate())
    return TrackletDataset(clips, categories, source=f"sampled from statistics (seed {seed})")


def _sample_instance(c: CategoryStats, T: int, W: int, H: int, stats: TrackletStats, rng, iid: int,
                     cid: int) -> Instance | None:
    w = float(np.clip(np.exp(rng.normal(*c.log_width)), 0.02, 0.9))
    h = float(np.clip(w * np.exp(rng.normal(*c.log_aspect)), 0.02, 0.9))  # frame-width units
    h_frac = h * W / H
    centre = np.array([rng.uniform(w / 2, 1 - w / 2), rng.uniform(h_frac / 2, 1 - h_frac / 2)])
    velocity = np.array([rng.normal(c.velocity[0], c.velocity[1]), rng.normal(c.velocity[2], c.velocity[3])])
    path = np.zeros((T, 2))
    for t in range(T):
        path[t] = centre
        velocity = velocity + rng.normal(0.0, c.acceleration, 2)
        centre = centre + velocity
    start = int(rng.integers(1, T)) if T > 1 and rng.random() < stats.entry_rate else 0
    stop = int(rng.integers(start + 1, T)) if start + 1 < T and rng.random() < stats.exit_rate else T
    boxes = np.stack([(path[:, 0] - w / 2) * W, (path[:, 1] - h_frac / 2) * H,
                      (path[:, 0] + w / 2) * W, (path[:, 1] + h_frac / 2) * H], axis=1)
    boxes = np.clip(boxes, 0, [W, H, W, H])
    present = np.zeros(T, bool)
    present[start:stop] = True
    present &= (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])  # left the frame: absent
    if not present.any():
        return None
    boxes[~present] = np.nan
    return Instance(iid, cid, boxes, present)


def describe(dataset: TrackletDataset) -> dict[str, float]:
    """Data-set level numbers of the fitted statistics, for comparing a sample with its source."""
    per = _gather(dataset)
    allm = {k: [v for m in per.values() for v in m[k]] for k in ("log_width", "log_aspect", "velocity",
                                                                  "acceleration", "entered", "exited")}
    speed = [np.linalg.norm(v, axis=1) for v in allm["velocity"] if len(v)]
    cat = lambda xs: np.concatenate(xs) if xs else np.zeros(0)  # noqa: E731
    return {
        "clips": len(dataset.clips),
        "objects per clip": float(np.mean([len(c) for c in dataset.clips])) if dataset.clips else 0.0,
        "box width (frame)": float(np.exp(cat(allm["log_width"])).mean()) if allm["log_width"] else 0.0,
        "aspect (h / w)": float(np.exp(cat(allm["log_aspect"])).mean()) if allm["log_aspect"] else 0.0,
        "speed (frame / frame)": float(cat(speed).mean()) if speed else 0.0,
        "acceleration std": float(cat(allm["acceleration"]).std()) if cat(allm["acceleration"]).size else 0.0,
        "entry rate": float(np.mean(allm["entered"])) if allm["entered"] else 0.0,
        "exit rate": float(np.mean(allm["exited"])) if allm["exited"] else 0.0,
    }


def histograms(dataset: TrackletDataset) -> dict[str, np.ndarray]:
    """Per-instance values for the report's histograms."""
    per = _gather(dataset)
    cat = lambda k: np.concatenate([np.atleast_1d(v) for m in per.values() for v in m[k]]) \
        if per else np.zeros(0)  # noqa: E731
    vel = [v for m in per.values() for v in m["velocity"] if len(v)]
    return {"objects per clip": np.array([len(c) for c in dataset.clips], float),
            "box width (frame)": np.exp(cat("log_width")), "aspect (h / w)": np.exp(cat("log_aspect")),
            "speed (frame / frame)": np.concatenate([np.linalg.norm(v, axis=1) for v in vel]) if vel else np.zeros(0)}
