"""TrackDiffusion: tracklet-conditioned video generation for multi-object tracking data."""
__version__ = "0.1.0"
