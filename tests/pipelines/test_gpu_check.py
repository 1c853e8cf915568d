"""benchmarks/gpu_check.sh stays runnable: its Python part end to end on the CPU (tiny shapes), and
its test selection holds every CUDA-marked test."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from trackdiffusion.assets import ASSETS

ROOT = ASSETS.parent


@pytest.mark.slow
def test_gpu_check_runs_end_to_end_on_the_cpu_with_tiny_shapes(tmp_path):
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "gpu_check.py"), "--device", "cpu", "--smoke",
                           "--dtype", "float32", "--repeats", "2", "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads((tmp_path / "gpu_check.json").read_text())
    generation, ratio, training = results["generation"], results["unet_ratio"], results["training"]
    assert generation["steps"] == 3 and generation["s_per_step"] > 0 and generation["frames"] == 4
    assert ratio["ours_s"] > 0 and ratio["ratio"] == pytest.approx(ratio["ours_s"] / ratio["diffusers_UNet3D_s"], rel=0.01)
    assert training["size"] == "small" and training["steps"] == 2 and training["steps_per_s"] > 0
    assert "one CFG UNet step" in (tmp_path / "gpu_check.md").read_text()


def test_the_scripts_test_selection_holds_every_cuda_test():
    script = (ROOT / "benchmarks" / "gpu_check.sh").read_text()
    selected = re.search(r"-m cuda .*?\\\n\s*(.*?) 2>&1", script, re.S).group(1).split()
    every = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-m", "cuda", "-p", "no:cacheprovider",
                            str(ROOT / "tests")], capture_output=True, text=True, cwd=ROOT).stdout
    files = {line.split("::")[0] for line in every.splitlines() if "::" in line}
    assert files and files == set(selected), (files, selected)
