"""The grounding tracker's configuration, saved as ``config.json`` next to its weights.

One dataclass holds everything that decides what the tracker outputs: the category table it
was trained on, the network's sizes, how detections are read off the heatmaps and how they are
associated into tracks. Loading weights with another configuration is an error, never a guess.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

CONFIG_FILE = "config.json"


@dataclass
class AssociationConfig:
    """How detections become tracks (see :mod:`.association`).

    Similarities are cosines of unit appearance embeddings; costs are ``1 - affinity``.
    """

    detection_threshold: float = 0.3  # detections below are not used at all
    birth_threshold: float = 0.45  # an unmatched detection starts a track from this score on
    iou_weight: float = 0.3  # affinity = iou_weight * IoU + (1 - iou_weight) * similarity
    min_similarity: float = 0.3  # no match below this appearance similarity, whatever the overlap
    min_iou: float = 0.2  # a match without this overlap with the predicted box needs ...
    reid_similarity: float = 0.75  # ... this similarity (re-identification after exit or occlusion)
    embedding_momentum: float = 0.7  # weight of the old track embedding in its running mean
    fill_gaps: bool = True  # interpolate frames a track was missed in, unless it left the frame
    border_margin: float = 1.0  # px: a box this close to the frame edge may have left the frame
    extend_hidden: bool = True  # extend tracks backwards / forwards behind the tracks that hide them ...
    hidden_cover: float = 0.5  # ... while one covers at least this fraction of the extended box
    min_detections: int = 2  # tracks with fewer detections are dropped (flickers)


@dataclass
class TrackerConfig:
    """Network sizes, decoding and association of a :class:`~.model.GroundingTracker`.

    ``categories`` maps the data set's category ids to names; class logit ``k`` is the
    ``k``-th id in ascending order. Frames are resized (aspect not kept) to
    ``input_size x input_size``; outputs are at ``input_size / stride``.
    """

    categories: dict[int, str]
    input_size: int = 64
    widths: tuple[int, ...] = (16, 32, 64, 96)  # at strides 1, 2, 4, 8
    head_width: int = 64
    roi_size: int = 16  # identity head crops, pixels per side
    roi_width: int = 32  # identity head channels (doubled twice)
    roi_context: float = 0.15  # crops widen each box by this fraction of its size per side
    embed_dim: int = 32
    max_detections: int = 16  # peaks kept per frame
    nms_iou: float = 0.7  # class-agnostic box NMS between peaks
    vote_iou: float = 0.6  # neighbour boxes averaged into a peak's box from this IoU on
    association: AssociationConfig = field(default_factory=AssociationConfig)

    def __post_init__(self) -> None:
        # JSON turns int keys into strings and tuples into lists; normalise so configs compare equal.
        self.categories = {int(k): str(v) for k, v in self.categories.items()}
        self.widths = tuple(int(w) for w in self.widths)
        if isinstance(self.association, dict):
            self.association = AssociationConfig(**self.association)
        problems = self.problems()
        if problems:
            raise ValueError("invalid TrackerConfig: " + "; ".join(problems))

    @property
    def stride(self) -> int:
        """Input pixels per output cell: the heads read the stride-2 feature map."""
        return 2

    @property
    def output_size(self) -> int:
        return self.input_size // self.stride

    @property
    def category_ids(self) -> list[int]:
        """Category id of each heatmap channel."""
        return sorted(self.categories)

    def problems(self) -> list[str]:
        out = []
        if not self.categories:
            out.append("categories: must not be empty")
        if len(self.widths) != 4 or min(self.widths) < 1:
            out.append(f"widths: four positive channel counts (strides 1, 2, 4, 8), got {list(self.widths)}")
        if self.input_size < 16 or self.input_size % 8:
            out.append(f"input_size: a multiple of 8 from 16 on, got {self.input_size}")
        for name in ("head_width", "roi_width", "embed_dim", "max_detections"):
            if getattr(self, name) < 1:
                out.append(f"{name}: must be >= 1, got {getattr(self, name)}")
        if self.roi_size < 4 or self.roi_size % 4:
            out.append(f"roi_size: a multiple of 4, got {self.roi_size}")
        return out

    def to_dict(self) -> dict:
        data = asdict(self)
        data["widths"] = list(self.widths)
        data["categories"] = {str(k): v for k, v in self.categories.items()}
        return data

    def save(self, directory: str | Path) -> Path:
        path = Path(directory) / CONFIG_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), indent=2) + "\n")
        return path

    @classmethod
    def from_dict(cls, data: dict, where: str = "tracker config") -> "TrackerConfig":
        for klass, values, label in ((cls, data, where), (AssociationConfig, data.get("association", {}),
                                                          f"{where}: association")):
            unknown = sorted(set(values) - {f.name for f in fields(klass)})
            if unknown:
                raise ValueError(f"{label}: unknown field(s) {unknown}")
        return cls(**data)

    @classmethod
    def load(cls, directory: str | Path) -> "TrackerConfig":
        path = Path(directory) / CONFIG_FILE
        if not path.is_file():
            raise FileNotFoundError(f"{directory} holds no grounding tracker ({CONFIG_FILE} missing)")
        return cls.from_dict(json.loads(path.read_text()), where=str(path))
