"""The Table 4 ablations from one backbone: a checkpoint's identity embedding and instance enhancer
can be switched off (their modules dropped), never switched on, and a spatial-stage checkpoint
computes the same function with or without them (those paths are still at their identity start);
``lr_mult`` lets such paths learn faster than the trained backbone."""

from __future__ import annotations

import json

import pytest
import torch

from trackdiffusion.models import TrackDiffusionUNet
from trackdiffusion.models.instance_enhancer import TemporalInstanceEnhancer
from trackdiffusion.training import trainer
from trackdiffusion.training.components import build_unet

from .conftest import tiny_config
from ..models.conftest import make_inputs

OFF = {"use_identity_embedding": False, "use_instance_enhancer": False}


@pytest.fixture(scope="module")
def spatial_checkpoint(tiny_world, tmp_path_factory):
    out = tmp_path_factory.mktemp("ablation") / "spatial"
    return trainer.train(tiny_config(tiny_world, out, max_steps=2, stage="spatial"), progress=False)


def _from(checkpoint, world, out, **options):
    cfg = tiny_config(world, out, max_steps=2, stage="video")
    cfg.model.init_checkpoint = str(checkpoint)
    cfg.model.options = {**cfg.model.options, **options}
    return cfg


def test_switching_the_temporal_instance_paths_off_keeps_the_spatial_function(spatial_checkpoint, tiny_world,
                                                                               tmp_path):
    full = TrackDiffusionUNet.from_pretrained(spatial_checkpoint / "unet").eval()
    latent_channels = full.config.in_channels
    vanilla = build_unet(_from(spatial_checkpoint, tiny_world, tmp_path, **OFF), full.config.cross_attention_dim,
                         latent_channels, 2).eval()
    assert vanilla.location_tokens.identity is None and vanilla.trajectory_encoder is None
    assert not any(isinstance(m, TemporalInstanceEnhancer) for m in vanilla.modules())
    assert any(isinstance(m, TemporalInstanceEnhancer) for m in full.modules())
    x = make_inputs(B=2, T=4, N=3, size=8, model=full)
    with torch.no_grad():
        torch.testing.assert_close(vanilla(**x).sample, full(**x).sample, rtol=0, atol=1e-6)
    only_identity_off = build_unet(_from(spatial_checkpoint, tiny_world, tmp_path, use_identity_embedding=False),
                                   full.config.cross_attention_dim, latent_channels, 2)
    assert only_identity_off.location_tokens.identity is None and only_identity_off.trajectory_encoder is not None


def test_a_video_stage_trains_from_the_ablated_start_and_records_it(spatial_checkpoint, tiny_world, tmp_path):
    final = trainer.train(_from(spatial_checkpoint, tiny_world, tmp_path / "vanilla", **OFF), progress=False)
    saved = json.loads((final / "unet" / "config.json").read_text())
    assert saved["use_instance_enhancer"] is False and saved["use_identity_embedding"] is False
    # a path the checkpoint does not have cannot be switched on: it would start untrained inside a trained model
    with pytest.raises(ValueError, match=r"\['use_instance_enhancer'\] differ from .*config.json"):
        build_unet(_from(final, tiny_world, tmp_path / "again", use_instance_enhancer=True), 384, 3, 1)


def test_lr_mult_speeds_up_the_named_paths(spatial_checkpoint, tiny_world, tmp_path):
    cfg = _from(spatial_checkpoint, tiny_world, tmp_path)
    cfg.max_steps, cfg.warmup_steps, cfg.ema_decay, cfg.lr_mult = 1, 0, None, {"instance_injector": 10}
    before = dict(TrackDiffusionUNet.from_pretrained(spatial_checkpoint / "unet").named_parameters())
    after = TrackDiffusionUNet.from_pretrained(trainer.train(cfg.validate(), progress=False) / "unet")
    moved = {"injector": 0.0, "temporal": 0.0}
    for name, p in after.named_parameters():
        part = "injector" if ".instance_injector." in name else "temporal" if ".temp_convs." in name else None
        if part:
            moved[part] = max(moved[part], (p - before[name]).abs().max().item())
    # Adam's first step moves every parameter with a gradient by about its learning rate (only the zeroed
    # output layers of both have one: everything before them is cut off by their zeros)
    assert moved["injector"] / cfg.learning_rate == pytest.approx(10, rel=0.02)
    assert moved["temporal"] / cfg.learning_rate == pytest.approx(1, rel=0.02)
