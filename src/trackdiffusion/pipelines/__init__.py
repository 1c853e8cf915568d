"""Generation pipelines."""

from .pipeline_trackdiffusion import TrackDiffusionPipeline, TrackDiffusionPipelineOutput

__all__ = ["TrackDiffusionPipeline", "TrackDiffusionPipelineOutput"]
