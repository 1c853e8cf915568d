"""EMA weights in checkpoints: our named safetensors file, and accelerate's pickle of old runs."""

from __future__ import annotations

import pytest
import torch
from diffusers.training_utils import EMAModel

from trackdiffusion.training.ema import LEGACY_EMA_FILE, load_ema, restore_ema, save_ema


def _ema(seed):
    torch.manual_seed(seed)
    params = [torch.nn.Parameter(torch.randn(3, 2)), torch.nn.Parameter(torch.randn(4))]
    ema = EMAModel(params, decay=0.9, use_ema_warmup=True)
    for _ in range(3):
        with torch.no_grad():
            for p in params:
                p.add_(1.0)
        ema.step(params)
    return ema


def test_saved_ema_restores_weights_and_step_by_name(tmp_path):
    names = ["a.weight", "b.bias"]
    ema = _ema(0)
    save_ema(ema, names, tmp_path)
    fresh = _ema(1)
    restore_ema(fresh, names, tmp_path)
    assert fresh.optimization_step == ema.optimization_step == 3
    assert all(torch.equal(x, y) for x, y in zip(fresh.shadow_params, ema.shadow_params))
    with pytest.raises(ValueError, match="do not match"):
        load_ema(tmp_path, ["a.weight", "c.weight"])


def test_old_checkpoints_with_accelerates_pickle_still_load(tmp_path):
    ema = _ema(0)
    torch.save(ema.state_dict(), tmp_path / LEGACY_EMA_FILE)
    shadow, step = load_ema(tmp_path, ["a", "b"])
    assert step == 3 and all(torch.equal(x, y) for x, y in zip(shadow, ema.shadow_params))
    with pytest.raises(FileNotFoundError, match="no EMA weights"):
        load_ema(tmp_path / "empty", ["a"])
