"""Which parameters each stage trains, chosen by module (type and owning attribute), not by name."""

from __future__ import annotations

import pytest
from diffusers.models.resnet import TemporalConvLayer

from trackdiffusion.training.stages import parameter_groups, trainable_parameters, uses_temporal_layers

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


def test_parameter_groups_scale_the_rate_by_the_longest_matching_key():
    trained = trainable_parameters(make_unet(), "video")
    groups = parameter_groups(trained, 1e-3, {"instance_injector": 10, "instance_injector.gamma": "1e2",
                                              "identity": 0.5})
    assert [(g["lr"], g["lr_mult"]) for g in groups] == [(5e-4, 0.5), (1e-3, 1.0), (1e-2, 10.0), (1e-1, 100.0)]
    members = [{id(p) for p in g["params"]} for g in groups]
    for name, p in trained:
        expected = (3 if ".instance_injector.gamma" in name else 2 if ".instance_injector." in name
                    else 0 if "identity" in name else 1)
        assert id(p) in members[expected], name
    assert sum(len(g["params"]) for g in groups) == len(trained)
    plain = parameter_groups(trained, 1e-3, {})
    assert len(plain) == 1 and plain[0]["lr"] == 1e-3 and len(plain[0]["params"]) == len(trained)
    # a typo must not silently train everything at the base rate
    with pytest.raises(ValueError, match=r"lr_mult keys \['enhancr'\] are in the name of no trained parameter"):
        parameter_groups(trained, 1e-3, {"enhancr": 10, "identity": 2})
