"""Tracklets: the data model, dataset formats, the synthetic world and the clip loader."""

from .builder import ClipBuilder, ProblemLog
from .clip import Clip, Instance
from .dataset import TrackletDataset
from .errors import FormatError, Problem, TrackletError
from .tensors import TrackletTensors, clip_to_tensors, collate_tracklets, tensors_to_clip

__all__ = [
    "Clip", "ClipBuilder", "FormatError", "Instance", "Problem", "ProblemLog", "TrackletDataset",
    "TrackletError", "TrackletTensors", "clip_to_tensors", "collate_tracklets", "tensors_to_clip",
]
