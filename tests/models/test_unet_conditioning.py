"""Behaviour of the tracklet conditioning: masking, permutation, gradients, variants, save/load."""

from __future__ import annotations

import json

import pytest
import torch

from trackdiffusion.models import TrackDiffusionUNet, is_track_parameter, unet_config

from .conftest import make_inputs, make_unet, open_gates

VARIANTS = [
    {},
    dict(enhancer_placement="encoder"),
    dict(enhancer_placement="both", instance_injection="self"),
    dict(use_identity_embedding=False),
    dict(use_instance_enhancer=False),
    dict(spatial_position_embedding=False),
    dict(box_attention=True),
    dict(box_attention=True, instance_injection="self"),
]


def _run(model, x):
    with torch.no_grad():
        return model(**x).sample


@pytest.mark.parametrize("variant", VARIANTS)
def test_absent_instance_cannot_change_output(variant):
    model = open_gates(make_unet(**variant))
    x = make_inputs(model=model)
    x["present"][0, :, 1] = False  # instance 1 of clip 0 is absent in every frame
    x["present"][1, 2, 0] = False  # instance 0 of clip 1 is absent in frame 2 only
    moved = {k: v.clone() for k, v in x.items()}
    moved["boxes"][0, :, 1] = torch.tensor([0.1, 0.2, 0.9, 0.95])
    moved["boxes"][1, 2, 0] = torch.tensor([0.5, 0.5, 0.6, 0.7])
    assert torch.equal(_run(model, x), _run(model, moved))


@pytest.mark.parametrize("variant", VARIANTS)
def test_conditioning_changes_output_when_gates_open(variant):
    model = open_gates(make_unet(**variant))
    x = make_inputs(model=model)
    moved = {k: v.clone() for k, v in x.items()}
    moved["boxes"][0, 0, 0] = torch.tensor([0.0, 0.0, 0.3, 0.3])
    moved["present"][0, 0, 0] = True
    assert not torch.allclose(_run(model, x), _run(model, moved))


@pytest.mark.parametrize("variant", VARIANTS)
def test_permuting_instances_leaves_output_unchanged(variant):
    model = open_gates(make_unet(**variant))
    x = make_inputs(N=4, model=model)
    perm = torch.tensor([2, 0, 3, 1])
    y = dict(x, boxes=x["boxes"][:, :, perm], present=x["present"][:, :, perm],
             category_embeds=x["category_embeds"][:, perm], instance_slots=x["instance_slots"][:, perm])
    torch.testing.assert_close(_run(model, x), _run(model, y), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("N,T", [(0, 3), (1, 1), (5, 2)])
def test_any_number_of_instances_and_frames(N, T):
    model = open_gates(make_unet())
    x = make_inputs(N=N, T=T, model=model)
    assert _run(model, x).shape == x["sample"].shape


def test_image_stage_treats_frames_independently():
    model = open_gates(make_unet())
    x = make_inputs(T=3, model=model)
    full = model(**x, temporal=False).sample
    for t in range(3):
        one = {k: v for k, v in x.items()}
        one.update(sample=x["sample"][:, :, t:t + 1], boxes=x["boxes"][:, t:t + 1], present=x["present"][:, t:t + 1])
        torch.testing.assert_close(model(**one, temporal=False).sample[:, :, 0], full[:, :, t], atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_new_parameter_receives_a_gradient(variant):
    model = open_gates(make_unet(**variant)).train()
    x = make_inputs(model=model)
    model(**x).sample.square().mean().backward()
    silent = [n for n, p in model.named_parameters() if is_track_parameter(n) and (p.grad is None or not p.grad.abs().sum())]
    assert not silent


def test_gradient_checkpointing_keeps_box_conditioning():
    torch.manual_seed(0)
    model = open_gates(make_unet()).train()
    for m in model.modules():  # dropout off so both passes see the same network
        if isinstance(m, torch.nn.Dropout):
            m.p = 0.0
    x = make_inputs(model=model)
    boxes = x["boxes"].clone().requires_grad_(True)
    model(**dict(x, boxes=boxes)).sample.square().mean().backward()
    ref = {n: p.grad.clone() for n, p in model.named_parameters()}
    ref_boxes = boxes.grad.clone()
    model.zero_grad()
    model.enable_gradient_checkpointing()
    boxes.grad = None
    model(**dict(x, boxes=boxes)).sample.square().mean().backward()
    assert boxes.grad.abs().sum() > 0
    torch.testing.assert_close(boxes.grad, ref_boxes, atol=1e-5, rtol=1e-4)
    for n, p in model.named_parameters():
        torch.testing.assert_close(p.grad, ref[n], atol=1e-5, rtol=1e-4, msg=n)


@pytest.mark.parametrize("size", ["tiny", "small"])
@pytest.mark.parametrize("variant", ["trackdiffusion", "vanilla"])
def test_preset_save_load_round_trip(tmp_path, size, variant):
    torch.manual_seed(0)
    model = TrackDiffusionUNet(**unet_config(size, variant))
    model.save_pretrained(tmp_path)
    loaded = TrackDiffusionUNet.from_pretrained(tmp_path)
    public = lambda m: {k: v for k, v in json.loads(m.to_json_string()).items() if not k.startswith("_")}  # noqa: E731
    assert public(loaded) == public(model)
    for (n, a), (m, b) in zip(model.state_dict().items(), loaded.state_dict().items()):
        assert n == m and torch.equal(a, b)


def test_tiny_preset_is_small_enough():
    n = sum(p.numel() for p in TrackDiffusionUNet(**unet_config("tiny")).parameters())
    assert n <= 5_000_000


@pytest.mark.parametrize("bad,match", [
    (dict(enhancer_placement="middle"), "enhancer_placement='middle'"),
    (dict(instance_injection="add"), "instance_injection='add'"),
])
def test_bad_variant_strings_are_named(bad, match):
    with pytest.raises(ValueError, match=match):
        make_unet(**bad)


def test_bad_shapes_are_named():
    model = make_unet()
    x = make_inputs(model=model)
    with pytest.raises(ValueError, match="present has shape"):
        model(**dict(x, present=x["present"][:, :2]))
    # Slot values are not read in forward (a host sync); the pipeline's check_inputs bounds them
    # and on the CPU the embedding itself refuses an out-of-range slot.
    with pytest.raises(IndexError):
        model(**dict(x, instance_slots=x["instance_slots"] + 100))
