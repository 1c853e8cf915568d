"""The training loop: outputs, exact resume after a killed job, multi-process launch."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

import trackdiffusion.training.trainer as trainer
from trackdiffusion.training.checkpointing import list_checkpoints
from trackdiffusion.training.export import export_run

from .conftest import tiny_config


def _losses(out) -> dict[int, float]:
    with open(out / "loss.csv") as f:
        return {int(r["step"]): float(r["loss"]) for r in csv.DictReader(f)}


def _weights(out) -> dict:
    return load_file(out / "final" / "unet" / "diffusion_pytorch_model.safetensors")


def test_training_writes_checkpoints_curve_and_final_pipeline(tiny_world, tmp_path):
    final = trainer.train(tiny_config(tiny_world, tmp_path / "run"), progress=False)
    out = tmp_path / "run"
    assert [p.name for p in list_checkpoints(out)] == ["step-00000002", "step-00000004"]
    assert sorted(_losses(out)) == [1, 2, 3, 4]
    assert (out / "loss.png").stat().st_size > 0 and (out / "latent_cache" / "shard-00000-of-00001.safetensors").is_file()
    last = list_checkpoints(out)[-1]
    assert (last / "ema.safetensors").is_file() and not (last / "custom_checkpoint_0.pkl").exists()
    exported = export_run(out, tmp_path / "exported")  # the latest checkpoint's EMA weights = the final model
    a, b = _weights(out), load_file(exported / "unet" / "diffusion_pytorch_model.safetensors")
    assert all(torch.equal(a[k], b[k]) for k in a)
    index = json.loads((final / "model_index.json").read_text())
    assert index["_class_name"][1] == "TrackDiffusionPipeline" and index["text_max_length"] == 8
    assert index["text_encoder"] == ["transformers", "BertModel"]  # the bundled MiniLM, saved inside
    for part in ("unet", "vae", "text_encoder", "tokenizer", "scheduler"):
        assert (final / part).is_dir() or index[part] == [None, None]


def test_resume_after_a_killed_job_repeats_the_uninterrupted_run(tiny_world, tmp_path, monkeypatch):
    # log_every=3 does not divide checkpoint_every=2: the resumed run must still log the mean of steps 1-3
    whole = tmp_path / "whole"
    trainer.train(tiny_config(tiny_world, whole, log_every=3), progress=False)

    killed = tmp_path / "killed"
    real_save = trainer.save_checkpoint

    def save_then_die(acc, out, step, state, keep_last, **kw):
        path = real_save(acc, out, step, state, keep_last, **kw)
        if step == 2:
            raise KeyboardInterrupt("job killed after the step-2 checkpoint")
        return path

    monkeypatch.setattr(trainer, "save_checkpoint", save_then_die)
    with pytest.raises(KeyboardInterrupt):
        trainer.train(tiny_config(tiny_world, killed, log_every=3), progress=False)
    monkeypatch.setattr(trainer, "save_checkpoint", real_save)
    (killed / "checkpoints" / "step-00000003.tmp").mkdir()  # a half-written checkpoint is ignored
    trainer.train(tiny_config(tiny_world, killed, log_every=3), progress=False)

    assert sorted(_losses(whole)) == [3, 4] and _losses(killed) == _losses(whole)
    a, b = _weights(whole), _weights(killed)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_image_stage_trains_only_its_parameters(tiny_world, tmp_path):
    cfg = tiny_config(tiny_world, tmp_path / "img", stage="image", max_steps=2, checkpoint_every=1, ema_decay=None)
    trainer.train(cfg, progress=False)
    one, two = (load_file(p / "model.safetensors") for p in list_checkpoints(tmp_path / "img"))
    changed = {k for k in one if not torch.equal(one[k], two[k])}
    assert changed and all(".fuser." in k or k.startswith("location_tokens.mlp.") for k in changed)
    assert any(".fuser." in k for k in changed) and any(k.startswith("location_tokens.mlp.") for k in changed)


def test_accelerate_launch_two_cpu_processes(tiny_world, tmp_path):
    cfg = tiny_config(tiny_world, tmp_path / "ddp", max_steps=2, checkpoint_every=2)
    path = tmp_path / "cfg.json"
    cfg.save(path)
    accelerate = str(Path(sys.executable).with_name("accelerate"))  # the venv's launcher
    cmd = [accelerate, "launch", "--cpu", "--num_processes", "2", "--num_machines", "1", "--mixed_precision", "no",
           "--dynamo_backend", "no", "-m", "trackdiffusion.cli.main", "train", "--config", str(path), "--quiet"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert sorted(_losses(tmp_path / "ddp")) == [1, 2]
    assert (tmp_path / "ddp" / "final" / "unet" / "config.json").is_file()


def test_gradient_accumulation_and_v_prediction(tiny_world, tmp_path):
    cfg = tiny_config(tiny_world, tmp_path / "acc", max_steps=2, gradient_accumulation_steps=2, ema_decay=None)
    cfg.diffusion.prediction_type = "v_prediction"
    final = trainer.train(cfg, progress=False)
    assert sorted(_losses(tmp_path / "acc")) == [1, 2]  # two optimizer steps from four micro-batches
    scheduler = json.loads((final / "scheduler" / "scheduler_config.json").read_text())
    assert scheduler["prediction_type"] == "v_prediction" and scheduler["algorithm_type"] == "dpmsolver++"
