"""Fixtures for every test: one CPU thread per test process, a tiny synthetic world."""

from __future__ import annotations

import importlib.util

import pytest
import torch

from trackdiffusion.assets import ASSETS
from trackdiffusion.tracklets.synthetic import WorldConfig, write_world

# Parametrize a test with this to run it on the CPU here and also on CUDA on a GPU machine
# (benchmarks/gpu_check.sh runs the `cuda`-marked tests; without CUDA they are skipped).
DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.cuda)]


def load_benchmark(name: str):
    """The script benchmarks/<name>.py as a module (benchmarks/ is not a package)."""
    spec = importlib.util.spec_from_file_location(name, ASSETS.parent / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def pytest_collection_modifyitems(config, items):
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs CUDA: run benchmarks/gpu_check.sh on a GPU machine")
    for item in items:
        if "cuda" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _one_thread():
    # pytest-xdist runs one worker per core; more threads per worker would oversubscribe the CPU.
    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def tiny_world(tmp_path_factory):
    """4 train + 2 val clips of 6 frames at 32x32 (split folders ``train/`` and ``val/``)."""
    out = tmp_path_factory.mktemp("world")
    write_world(WorldConfig(train_clips=4, val_clips=2, num_frames=6, width=32, height=32, max_objects=3, seed=3), out)
    return out
