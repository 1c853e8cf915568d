"""The grounding tracker: the embedded counterpart of the paper's pretrained trackers.

A small CenterNet-style detector (objectness heatmap, box edges at stride 2) with an ROI identity
head (category, appearance embedding), trained on real clips, with IoU + appearance association
(Hungarian) into scored tracks. It scores
generated clips: TrackAP of its tracks against the input tracklets, SOT of the instances it
follows from their first boxes, and features for a weight-free Frechet distance.

* :mod:`.config` - :class:`TrackerConfig` (saved with the weights), :class:`AssociationConfig`.
* :mod:`.model` - :class:`GroundingTracker` (``save_pretrained`` / ``from_pretrained``).
* :mod:`.targets`, :mod:`.data`, :mod:`.train` - losses, in-memory batches, ``train-tracker``.
* :mod:`.decode`, :mod:`.association`, :mod:`.inference` - detections, tracks, whole data sets.
"""

from .association import Track, associate, tracks_to_clip
from .config import AssociationConfig, TrackerConfig
from .decode import Detections, decode_boxes
from .inference import ClipTracking, TrackingResults, track_dataset, track_frames
from .model import GroundingTracker, TrackerOutput

__all__ = [
    "AssociationConfig", "ClipTracking", "Detections", "GroundingTracker", "Track", "TrackerConfig",
    "TrackerOutput", "TrackingResults", "associate", "decode_boxes", "track_dataset", "track_frames",
    "tracks_to_clip",
]
