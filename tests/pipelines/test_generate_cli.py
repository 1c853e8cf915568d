"""The ``generate`` command: edge cases checked before the model loads, shards in real processes,
SIGKILL at random moments, and ``accelerate launch`` with two CPU processes."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

import trackdiffusion
from trackdiffusion.cli.main import app
from trackdiffusion.pipelines import TrackDiffusionPipeline
from trackdiffusion.tracklets.formats import read_tracklets, write_tracklets
from trackdiffusion.tracklets.synthetic import WorldConfig, write_world

from .conftest import make_clip

# Fields of a clip record that say when and where it was made, not what.
_CIRCUMSTANCES = ("time", "seconds_after_sampling", "shard")
FAST = ["--steps", "2", "--guidance", "1", "--frames", "3", "--size", "32x32", "--quiet"]


@pytest.fixture
def checkpoint(pipe, tmp_path):
    path = tmp_path / "ckpt"
    pipe.save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    out = tmp_path_factory.mktemp("gen_world")
    write_world(WorldConfig(train_clips=0, val_clips=6, num_frames=3, width=32, height=32, max_objects=2, seed=4), out)
    return out / "val"


def _env() -> dict:
    src = str(Path(trackdiffusion.__file__).resolve().parents[1])
    return {**os.environ, "PYTHONPATH": src, "OMP_NUM_THREADS": "1"}


def _generate(args: list[str]) -> list[str]:
    return [sys.executable, "-m", "trackdiffusion.cli.main", "generate", *args]


def _snapshot(out: Path) -> dict[str, bytes]:
    """Every file of a run folder; records and manifest lines without when/where they were made."""
    files = {}
    for path in sorted(p for p in out.rglob("*") if p.is_file()):
        rel = path.relative_to(out).as_posix()
        data = path.read_bytes()
        if path.name in ("record.json", "manifest.jsonl"):
            lines = [json.loads(x) for x in data.decode().splitlines()] if path.suffix == ".jsonl" \
                else [json.loads(data)]
            data = json.dumps([{k: v for k, v in r.items() if k not in _CIRCUMSTANCES} for r in lines]).encode()
        files[rel] = data
    return files


def test_edge_cases_fail_before_the_model_loads(checkpoint, world, tmp_path, monkeypatch):
    def no_load(*args, **kwargs):
        raise AssertionError("the model must not be loaded")

    monkeypatch.setattr(TrackDiffusionPipeline, "from_checkpoint", no_load)
    runner = CliRunner()
    base = ["generate", "--tracklets", str(world), "--out", str(tmp_path / "o"), "--checkpoint", str(checkpoint)]
    steps0 = runner.invoke(app, [*base, *FAST, "--steps", "0"])
    assert steps0.exit_code != 0 and "steps must be >= 1" in str(steps0.exception)
    rescale = runner.invoke(app, [*base, *FAST, "--guidance-rescale", "1.5"])
    assert "guidance rescale must lie in [0, 1], got 1.5" in str(rescale.exception)

    crowded = make_clip("crowded", T=3, width=32, height=32)
    crowded.instances = [type(crowded.instances[0])(i, 1, crowded.instances[0].boxes.copy(),
                                                    crowded.instances[0].present.copy()) for i in range(17)]
    data = read_tracklets(world)
    crowded.categories = data.categories
    data.clips.append(crowded)
    write_tracklets(data, tmp_path / "crowded.json", "cocovid")
    many = runner.invoke(app, ["generate", "--tracklets", str(tmp_path / "crowded.json"), "--out",
                               str(tmp_path / "o"), "--checkpoint", str(checkpoint), *FAST])
    assert "identity_bank_size=16: 'crowded' (17)" in str(many.exception)

    sized = runner.invoke(app, [*base, *FAST, "--width", "64", "--height", "64"])
    assert "stores each video's frame size" in str(sized.exception)

    monkeypatch.undo()
    zero = runner.invoke(app, [*base, *FAST, "--limit", "0"])
    assert zero.exit_code == 0, zero.output
    assert "wrote labels of 0 clips" in zero.output and "contact sheet" not in zero.output
    assert not (tmp_path / "o" / "contact_sheet.png").exists()
    assert read_tracklets(tmp_path / "o" / "ytvis.json").clips == []


def test_guidance_rescale_reaches_the_sampler_and_the_manifest(checkpoint, world, tmp_path, monkeypatch):
    seen = []
    call = TrackDiffusionPipeline.__call__
    monkeypatch.setattr(TrackDiffusionPipeline, "__call__",
                        lambda self, *a, **k: seen.append(k["guidance_rescale"]) or call(self, *a, **k))
    out = tmp_path / "o"
    args = ["generate", "--tracklets", str(world), "--out", str(out), "--checkpoint", str(checkpoint), *FAST,
            "--guidance", "3", "--guidance-rescale", "0.7", "--limit", "1"]
    done = CliRunner().invoke(app, args)
    assert done.exit_code == 0, done.output
    assert seen == [0.7]
    record = json.loads((out / "manifest.jsonl").read_text().splitlines()[0])
    assert record["fingerprint"]["guidance_rescale"] == 0.7 and record["fingerprint"]["guidance"] == 3.0


def test_width_height_give_mot_tracklets_their_frame_size(checkpoint, world, tmp_path):
    mot = tmp_path / "mot"
    write_tracklets(read_tracklets(world), mot, "mot")
    for ini in mot.glob("*/seqinfo.ini"):  # as MOT15: no stored frame size
        ini.write_text("\n".join(line for line in ini.read_text().splitlines() if not line.startswith("im")) + "\n")
    runner = CliRunner()
    out = tmp_path / "o"
    args = ["generate", "--tracklets", str(mot), "--out", str(out), "--checkpoint", str(checkpoint), *FAST,
            "--limit", "1"]
    assert "pass width= and height=" in str(runner.invoke(app, args).exception)
    done = runner.invoke(app, [*args, "--width", "32", "--height", "32"])
    assert done.exit_code == 0, done.output
    assert len(read_tracklets(out).clips) == 1


def _kill_during_generation(args: list[str], plan: Path, delay: float) -> bool:
    """Start ``generate``; SIGKILL it ``delay`` s after it wrote its plan (the model is loading or
    sampling then). True when it was killed, False when it finished first."""
    launched = time.time()
    proc = subprocess.Popen(_generate(args), env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)  # its own process group: ffmpeg children die too
    while proc.poll() is None and not (plan.is_file() and plan.stat().st_mtime >= launched):
        time.sleep(0.05)
    time.sleep(delay)
    if proc.poll() is not None:
        return False
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    return True


@pytest.mark.slow
def test_sigkill_at_random_moments_then_resume_equals_an_uninterrupted_run(checkpoint, world, tmp_path):
    common = ["--tracklets", str(world), "--checkpoint", str(checkpoint), *FAST]
    whole = tmp_path / "whole"
    subprocess.run(_generate([*common, "--out", str(whole)]), env=_env(), check=True, timeout=300, capture_output=True)
    out = tmp_path / "killed"
    rng = random.Random(12)
    kills = attempts = 0
    while kills < 5 and attempts < 12:
        shard = str(attempts % 2)
        kills += _kill_during_generation([*common, "--out", str(out), "--num-shards", "2", "--shard", shard],
                                         out / "plan.json", rng.uniform(0.0, 2.5))
        attempts += 1
    assert kills >= 5
    for k in ("0", "1"):
        subprocess.run(_generate([*common, "--out", str(out), "--num-shards", "2", "--shard", k]), env=_env(),
                       check=True, timeout=300, capture_output=True)
    got, want = _snapshot(out), _snapshot(whole)
    assert not [p for p in got if p.startswith(".partial/")]
    assert sorted(got) == sorted(want)
    assert [p for p in want if got[p] != want[p]] == []


def test_accelerate_launch_two_cpu_processes_generate_each_clip_once(checkpoint, world, tmp_path):
    accelerate = str(Path(sys.executable).with_name("accelerate"))
    out = tmp_path / "ddp"
    # --multi_gpu: accelerate's launcher that starts N processes (torchrun); on a machine without
    # GPUs they join over gloo (`--cpu` alone starts one process unless mpirun is set up).
    cmd = [accelerate, "launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1", "--mixed_precision", "no",
           "--dynamo_backend", "no", "-m", "trackdiffusion.cli.main", "generate", "--tracklets", str(world),
           "--out", str(out), "--checkpoint", str(checkpoint), *FAST]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=_env())
    assert done.returncode == 0, done.stderr[-3000:]
    assert "shard 0/2: 3 clip(s) generated" in done.stderr and "shard 1/2: 3 clip(s) generated" in done.stderr
    manifest = [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]
    assert [m["clip"] for m in manifest] == [c.name for c in read_tracklets(world).clips]
    assert [m["shard"] for m in manifest] == [[i % 2, 2] for i in range(6)]
