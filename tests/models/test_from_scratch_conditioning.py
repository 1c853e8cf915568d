"""Gate initialisation, instance maps and identity temporal layers (the from-scratch recipe)."""

from __future__ import annotations

import pytest
import torch

from trackdiffusion.models import TrackDiffusionUNet
from trackdiffusion.models.instance_maps import InstanceMaps, relative_fourier

from ..training.conftest import TINY_OPTIONS


def _unet(**options) -> TrackDiffusionUNet:
    torch.manual_seed(0)
    return TrackDiffusionUNet(**{**TINY_OPTIONS, "cross_attention_dim": 12, "category_embed_dim": 10,
                                 "sample_size": 8, **options})


def _inputs(B=1, T=3, N=2):
    g = torch.Generator().manual_seed(1)
    boxes = torch.tensor([[0.1, 0.1, 0.5, 0.6], [0.4, 0.3, 0.9, 0.8]]).expand(B, T, N, 4).clone()
    return dict(sample=torch.randn(B, 4, T, 8, 8, generator=g), timestep=10,
                encoder_hidden_states=torch.randn(B, 5, 12, generator=g), boxes=boxes,
                present=torch.ones(B, T, N, dtype=torch.bool), category_embeds=torch.randn(B, N, 10, generator=g),
                instance_slots=torch.arange(N).expand(B, N))


def _without_tracklets(inputs: dict) -> dict:
    return {k: inputs[k] for k in ("sample", "timestep", "encoder_hidden_states")}


@pytest.mark.parametrize("options", [dict(gate_init="open"), dict(gate_init="open", instance_map_channels=8),
                                     dict(gate_init="zero", instance_map_channels=8)])
def test_every_start_is_the_identity(options):
    model = _unet(**options).eval()
    x = _inputs()
    with torch.no_grad():
        assert torch.equal(model(**x).sample, model(**_without_tracklets(x)).sample)


def test_open_gates_train_the_attention_from_the_first_step():
    grads = {}
    for gate_init in ("zero", "open"):
        model = _unet(gate_init=gate_init)
        model(**_inputs()).sample.square().mean().backward()
        fuser = next(m for n, m in model.named_modules() if n.endswith(".fuser"))
        assert abs(float(torch.tanh(fuser.alpha_attn.detach()))) == pytest.approx(0.0 if gate_init == "zero" else 0.7616, abs=1e-4)
        grads[gate_init] = float(fuser.attn.to_out[0].weight.grad.abs().sum())
    assert grads["zero"] == 0.0 and grads["open"] > 0.0


def test_unknown_gate_init_is_refused():
    with pytest.raises(ValueError, match="gate_init='half'"):
        _unet(gate_init="half")
    with pytest.raises(ValueError, match="instance_map_channels"):
        _unet(instance_map_channels=-1)


def test_temporal_layers_start_as_the_identity():
    model = _unet(gate_init="open").eval()
    x = _inputs()
    with torch.no_grad():
        video, frames = model(**x).sample, model(**x, temporal=False).sample
    torch.testing.assert_close(video, frames, atol=1e-5, rtol=0)


def test_relative_fourier_is_zero_phase_at_the_box_centre():
    # A 4x4 grid and a box covering cells 1..2 in x and 0..3 in y: cell centres relative to it.
    box = torch.tensor([[0.25, 0.0, 0.75, 1.0]])
    feats = relative_fourier(box, 4, 4)  # [1, 4, 4, 16]
    u = (torch.tensor([0.125, 0.375, 0.625, 0.875]) - 0.25) / 0.5 * 2 - 1  # [-1.5, -0.5, 0.5, 1.5]
    expected_sin_u0 = torch.sin(torch.pi / 2 * u)
    torch.testing.assert_close(feats[0, 0, :, 0], expected_sin_u0)  # row 0, sin of u at the lowest frequency
    v = (torch.tensor([0.125, 0.375, 0.625, 0.875]) - 0.0) / 1.0 * 2 - 1
    torch.testing.assert_close(feats[0, :, 0, 8], torch.sin(torch.pi / 2 * v))  # sin of v, lowest frequency


def test_instance_maps_read_only_present_boxes_inside_them():
    torch.manual_seed(0)
    maps = InstanceMaps(category_dim=6, channels=4, out_channels=3)
    torch.nn.init.dirac_(maps.conv.weight[:, :3])  # a 1-cell readout of the first 3 channels
    boxes = torch.tensor([[[[0.0, 0.0, 0.5, 0.5], [0.5, 0.5, 1.0, 1.0]]]])  # [B=1, T=1, N=2, 4]
    cats = torch.randn(1, 2, 6)
    present = torch.tensor([[[True, False]]])
    out = maps(boxes, present, cats, 4, 4)[0]  # [3, 4, 4]
    assert out[:, :2, :2].abs().sum() > 0  # inside the present box
    assert torch.equal(out[:, 2:, :], torch.zeros_like(out[:, 2:, :]))  # outside it, and the absent box
    moved = boxes.clone()
    moved[..., 1, :] = torch.tensor([0.0, 0.5, 0.5, 1.0])
    assert torch.equal(maps(moved, present, cats, 4, 4)[0], out)  # an absent box can be anywhere
