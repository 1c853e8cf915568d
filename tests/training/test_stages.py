"""Which parameters each stage trains, chosen by module (type and owning attribute), not by name."""

from __future__ import annotations

import pytest
from diffusers.models.resnet import TemporalConvLayer

from trackdiffusion.training.stages import trainable_parameters, uses_temporal_layers

from ..models.conftest import make_unet


def _names(model, stage):
    return {n for n, _ in trainable_parameters(model, stage)}


@pytest.mark.parametrize("variant", [{}, dict(enhancer_placement="both", instance_injection="self")])
def test_each_stage_trains_its_modules(variant):
    model = make_unet(**variant)
    every = {n for n, _ in model.named_parameters()}
    temporal = {f"{m}.{p}" for m, mod in model.named_modules() if isinstance(mod, TemporalConvLayer)
                for p, _ in mod.named_parameters()}
    image, video, spatial = _names(model, "image"), _names(model, "video"), _names(model, "spatial")
    assert image == {n for n in every if n.startswith("location_tokens.mlp.") or ".fuser." in n}
    # the injector is a GatedSelfAttention like the fuser when injection="self": its owner decides
    assert not image & video and temporal <= video and "location_tokens.identity.weight" in video
    assert any(".instance_injector." in n for n in video) and any(n.startswith("trajectory_encoder.") for n in video)
    assert spatial == every - video and "conv_in.weight" in spatial and image <= spatial
    assert _names(model, "full") == every
    assert [p.requires_grad for _, p in model.named_parameters()] == [True] * len(every)  # full, last
    trainable_parameters(model, "image")
    assert {n for n, p in model.named_parameters() if p.requires_grad} == image


def test_stage_names_and_temporal_layers():
    assert [uses_temporal_layers(s) for s in ("image", "video", "spatial", "full")] == [False, True, False, True]
    with pytest.raises(ValueError, match="unknown stage 'audio'"):
        trainable_parameters(make_unet(), "audio")
