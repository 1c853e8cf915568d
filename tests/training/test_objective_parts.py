"""Foreground re-weighting, guidance dropout, stages, the training config and the sampler."""

from __future__ import annotations

import pytest
import torch

from diffusers import DDIMScheduler, DDPMScheduler

from trackdiffusion.models import TrackDiffusionUNet
from trackdiffusion.training.components import COSINE_LAMBDA_MIN, sampling_scheduler
from trackdiffusion.training.config import load_config
from trackdiffusion.training.foreground_reweighting import foreground_weights, weighted_mse
from trackdiffusion.training.guidance_dropout import guidance_dropout
from trackdiffusion.training.objective import random_slots
from trackdiffusion.training.stages import trainable_parameters

from ..models.conftest import TINY


def test_foreground_map_marks_touched_cells_and_has_mean_one():
    boxes = torch.tensor([[[[0.25, 0.25, 0.5, 0.75]]]])  # [B=1, T=1, N=1, 4] on a 4x4 latent grid
    w = foreground_weights(boxes, torch.ones(1, 1, 1, dtype=torch.bool), 4, 4, weight=2.0)
    assert w.shape == (1, 1, 1, 4, 4)
    inside = torch.zeros(4, 4, dtype=torch.bool)
    inside[1:3, 1:2] = True  # rows 1-2 (y in [0.25, 0.75)), column 1 (x in [0.25, 0.5))
    raw = 1.0 + inside.float()
    torch.testing.assert_close(w[0, 0, 0], raw / raw.mean())
    assert w.mean().item() == pytest.approx(1.0)


def test_foreground_map_ignores_absent_boxes_and_weight_one_is_flat():
    boxes = torch.tensor([[[[0.0, 0.0, 0.5, 0.5]]]])
    absent = foreground_weights(boxes, torch.zeros(1, 1, 1, dtype=torch.bool), 4, 4, weight=3.0)
    assert torch.equal(absent, torch.ones_like(absent))
    flat = foreground_weights(boxes, torch.ones(1, 1, 1, dtype=torch.bool), 4, 4, weight=1.0)
    assert torch.equal(flat, torch.ones_like(flat))


def test_weighted_mse_weights_the_error():
    pred, target = torch.zeros(1, 1, 1, 1, 2), torch.tensor([[[[[1.0, 2.0]]]]])
    w = torch.tensor([[[[[0.5, 1.5]]]]])
    assert weighted_mse(pred, target, w).item() == pytest.approx((0.5 * 1 + 1.5 * 4) / 2)


def test_guidance_dropout_rates_are_independent():
    g = torch.Generator().manual_seed(0)
    n = 20000
    captions, present = guidance_dropout(["x"] * n, torch.ones(n, 2, 3, dtype=torch.bool), 0.1, 0.3, g)
    dropped_prompt = torch.tensor([c == "" for c in captions])
    dropped_boxes = ~present.any(dim=(1, 2))
    assert dropped_prompt.float().mean().item() == pytest.approx(0.1, abs=0.01)
    assert dropped_boxes.float().mean().item() == pytest.approx(0.3, abs=0.01)
    both = (dropped_prompt & dropped_boxes).float().mean().item()
    assert both == pytest.approx(0.03, abs=0.006)  # independent draws


def test_random_slots_are_distinct_and_in_the_bank():
    slots = random_slots(5, 7, 16, torch.Generator().manual_seed(0))
    assert slots.shape == (5, 7) and slots.max() < 16
    assert all(len(set(row.tolist())) == 7 for row in slots)
    with pytest.raises(ValueError, match="identity_bank_size"):
        random_slots(1, 17, 16, torch.Generator())
    # no identity embedding (the vanilla variant): no bank, no limit (this raised for every clip)
    assert torch.equal(random_slots(2, 5, 0, torch.Generator()), torch.zeros(2, 5, dtype=torch.long))


@pytest.mark.parametrize("stage,trained,frozen", [
    ("image", ["fuser", "location_tokens.mlp"], ["temp_convs", "enhancer", "location_tokens.identity", "conv_in"]),
    ("video", ["temp_convs", "temp_attentions", "transformer_in", "enhancer", "trajectory_encoder",
               "instance_injector", "location_tokens.identity"], ["fuser", "location_tokens.mlp",
                                                           "attentions.0.transformer_blocks.0.attn2"]),
])
def test_stages_select_their_parameters(stage, trained, frozen):
    model = TrackDiffusionUNet(**TINY)
    names = [n for n, _ in trainable_parameters(model, stage)]
    for part in trained:
        assert any(f".{part}." in f".{n}" for n in names), part
    for part in frozen:
        assert not any(f".{part}." in f".{n}" for n in names), part
    assert all(p.requires_grad == (n in names) for n, p in model.named_parameters())


def test_config_errors_name_the_field(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("stage: sideways\ndata: {path: x}\n")
    with pytest.raises(ValueError, match="stage must be one of"):
        load_config(path)
    path.write_text("data: {path: x, colour: red}\n")
    with pytest.raises(ValueError, match=r"data: unknown field\(s\) \['colour'\]"):
        load_config(path)
    path.write_text("batch_size: four\ndata: {path: x}\n")
    with pytest.raises(ValueError, match="batch_size: expected a number"):
        load_config(path)
    path.write_text("data: {path: x}\nema_decay: null\n")
    cfg = load_config(path, {"data.num_frames": 3})
    assert cfg.ema_decay is None and cfg.data.num_frames == 3
    # --set lr_mult.enhancer=10: a dotted key fills the mapping
    assert load_config(path, {"lr_mult.enhancer": 10, "lr_mult.identity": "5e-1"}).lr_mult == {"enhancer": 10,
                                                                                             "identity": "5e-1"}
    for bad in (0, -2, "ten", True):
        with pytest.raises(ValueError, match="lr_mult multipliers must be numbers > 0"):
            load_config(path, {"lr_mult.enhancer": bad})


def test_exponent_floats_without_a_dot_are_numbers(tmp_path):
    # PyYAML (YAML 1.1) reads 1e-4 as the string "1e-4"; a float field takes it as the number it means
    path = tmp_path / "c.yaml"
    path.write_text("learning_rate: 1e-4\ndata: {path: x}\ndiffusion: {beta_start: 8.5e-4}\n")
    cfg = load_config(path, {"ema_decay": "9.995E-1", "weight_decay": "-1e-2"})
    assert (cfg.learning_rate, cfg.diffusion.beta_start, cfg.ema_decay, cfg.weight_decay) == (1e-4, 8.5e-4, 0.9995, -0.01)
    for bad in ({"learning_rate": "1e"}, {"learning_rate": "4e-4x"}, {"max_steps": "1e3"}):
        with pytest.raises(ValueError, match="expected a number"):
            load_config(path, bad)


def _log_snr(alpha_bar: torch.Tensor) -> torch.Tensor:
    """lambda = log(alpha / sigma), the quantity DPM-Solver++ clips."""
    return 0.5 * torch.log(alpha_bar / (1 - alpha_bar))


@pytest.mark.parametrize("schedule", ["squaredcos_cap_v2", "linear"])
def test_sampler_starts_at_a_finite_noise_level(schedule):
    # Regression: on the cosine schedule DPM-Solver++ started at alpha_bar ~ 1e-9 and saturated frames.
    sampler = sampling_scheduler(DDPMScheduler(beta_schedule=schedule))
    sampler.set_timesteps(25)
    first = int(sampler.timesteps[0])
    assert sampler.config.algorithm_type == "dpmsolver++"
    if schedule == "linear":
        assert first == 999 and sampler.config.lambda_min_clipped == -float("inf")
    else:
        assert first < 999 and _log_snr(sampler.alphas_cumprod[first]) >= COSINE_LAMBDA_MIN - 0.05
        assert _log_snr(sampler.alphas_cumprod[999]) < COSINE_LAMBDA_MIN


@pytest.mark.parametrize("swapped", [DDIMScheduler, DDPMScheduler])
def test_a_scheduler_swapped_from_the_sampler_config_does_not_clip_latents(swapped):
    # Regression: DDIMScheduler.from_config(pipe.scheduler.config) clipped x0 to [-1, 1] (diffusers'
    # default) and the shipped checkpoint's clips scored TrackAP 0.06 instead of 59.5.
    sampler = sampling_scheduler(DDPMScheduler(beta_schedule="squaredcos_cap_v2", prediction_type="v_prediction"))
    other = swapped.from_config(sampler.config)
    assert other.config.clip_sample is False
    other.set_timesteps(5)
    t = other.timesteps[0]
    x0 = torch.full((1, 4, 1, 2, 2), 3.0)          # a latent well outside [-1, 1]
    alpha_bar = other.alphas_cumprod[t]
    noisy = alpha_bar.sqrt() * x0                    # no noise: the v that gives x0 back exactly
    v = -(1 - alpha_bar).sqrt() * x0
    step = other.step(v, t, noisy, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(step.pred_original_sample, x0, atol=1e-4)


def test_spatial_stage_trains_everything_but_the_temporal_layers():
    from trackdiffusion.models import TrackDiffusionUNet
    from trackdiffusion.training.stages import trainable_parameters, uses_temporal_layers

    from .conftest import TINY_OPTIONS

    model = TrackDiffusionUNet(**{**TINY_OPTIONS, "cross_attention_dim": 12, "category_embed_dim": 10})
    names = {n for n, _ in trainable_parameters(model, "spatial")}
    temporal = ("temp_convs", "temp_attentions", "transformer_in", "location_tokens.identity", "trajectory_encoder",
                "enhancer", "instance_injector")
    for name, p in model.named_parameters():
        is_temporal = any(f".{t}." in f".{name}" for t in temporal)
        assert (name in names) != is_temporal, name
        assert p.requires_grad == (name in names)
    assert not uses_temporal_layers("spatial") and uses_temporal_layers("full")
