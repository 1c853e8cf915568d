"""A tiny random checkpoint on disk and the runner around it, for the web app's tests."""

from __future__ import annotations

import pytest

from trackdiffusion.pipelines import TrackDiffusionPipeline

from ..pipelines.conftest import text_encoder, tiny_pipeline  # noqa: F401  (text_encoder: a fixture)


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory, text_encoder):  # noqa: F811
    """A seeded random checkpoint making 32 x 32 frames, saved as the app loads it."""
    path = tmp_path_factory.mktemp("checkpoint")
    tiny_pipeline(text_encoder).save_pretrained(path)
    return path


@pytest.fixture
def tiny_pipe(text_encoder) -> TrackDiffusionPipeline:  # noqa: F811
    return tiny_pipeline(text_encoder)
