"""Half precision (bf16, fp16) against float32, on the CPU.

Indices stay integers and the sinusoidal embeddings (box Fourier features, cell positions, frame
and timestep embeddings) are computed in float32 and then cast, so a half-precision model differs
from float32 only by the rounding of its arithmetic. Tolerances were measured on this tiny UNet
(output std 0.30): bf16 max error 0.024, mean relative 1.3 %; fp16 0.0038 and 0.16 %.
"""

from __future__ import annotations

import copy

import pytest
import torch

from trackdiffusion.models.fourier import box_fourier_features, grid_cell_boxes
from trackdiffusion.models.gated_self_attention import CellPositionEmbedding
from trackdiffusion.models.instance_enhancer import frame_rois
from trackdiffusion.models.roi_align import roi_align

from ..conftest import DEVICES
from .conftest import make_inputs, make_unet, open_gates

HALF = [torch.bfloat16, torch.float16]
# (max abs error, mean abs error / mean abs output) allowed for the whole UNet
TOLERANCE = {torch.bfloat16: (0.06, 0.03), torch.float16: (0.01, 0.005)}


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", HALF)
def test_roi_frame_index_is_exact_beyond_256_frames(dtype, device):
    B, T, N = 40, 8, 2  # B*T = 320 frames: bf16 rounds frame 319 to 320
    g = torch.Generator().manual_seed(0)
    xy = torch.rand(B, T, N, 2, generator=g) * 0.5
    boxes = torch.cat([xy, xy + 0.4], dim=-1)
    level = (torch.arange(B * T) % 17 - 8).to(dtype)  # each frame its own constant, exact in half
    features = level[:, None, None, None].expand(B * T, 3, 6, 6).contiguous().to(device)
    rois = frame_rois(boxes.to(device), 6, 6)
    frame_index = torch.arange(B * T, device=device).repeat_interleave(N).float()
    assert rois.dtype == torch.float32 and torch.equal(rois[:, 0], frame_index)
    out = roi_align(features, rois, 2, sampling_ratio=2)  # [BT*N, 3, 2, 2]; a bad index is a device assert on CUDA
    assert out.dtype == dtype
    expected = level.float().to(device).repeat_interleave(N)[:, None, None, None].expand_as(out)
    assert (out.float() - expected).abs().max() <= 0.05  # neighbouring frames differ by 1


def test_roi_align_refuses_half_precision_rois():
    with pytest.raises(ValueError, match="float32"):
        roi_align(torch.zeros(1, 1, 4, 4), torch.tensor([[0.0, 0, 0, 2, 2]], dtype=torch.bfloat16), 2)


def test_fourier_features_and_cell_positions_are_float32():
    boxes = torch.rand(50, 4)
    assert box_fourier_features(boxes).dtype == torch.float32
    assert box_fourier_features(boxes.to(torch.bfloat16)).dtype == torch.float32
    assert grid_cell_boxes(3, 5).dtype == torch.float32
    torch.manual_seed(0)
    pos = CellPositionEmbedding(16)
    ref = pos(12, 10, like=torch.zeros(1))
    half = copy.deepcopy(pos).to(torch.bfloat16)
    out = half(12, 10, like=torch.zeros(1, dtype=torch.bfloat16))
    same_weights = copy.deepcopy(half).float()(12, 10, like=torch.zeros(1))
    assert out.dtype == torch.bfloat16
    # only the final projection runs in bf16: one rounded matmul (measured 0.004; weights 0.002)
    assert (out.float() - same_weights).abs().max() <= 0.03
    assert (same_weights - ref).abs().max() <= 0.05


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", HALF)
def test_unet_in_half_precision_matches_float32_with_more_than_256_frames(dtype, device):
    model = open_gates(make_unet(**{"enhancer_placement": "both"})).to(device)
    x = {k: v.to(device) for k, v in make_inputs(B=33, T=8, N=2, model=model).items()}  # B*T = 264 > 256
    x["timestep"] = torch.arange(33, device=device) * 30 + 9  # up to 969: bf16 cannot hold these integers
    half = copy.deepcopy(model).to(dtype)
    # the reference uses the half model's rounded weights and inputs, in float32 arithmetic
    reference = copy.deepcopy(half).float()
    xh = {k: v.to(dtype) if v.is_floating_point() and k != "boxes" else v for k, v in x.items()}
    with torch.no_grad():
        out = half(**xh).sample
        ref = reference(**{k: v.float() if v.is_floating_point() else v for k, v in xh.items()}).sample
    assert out.dtype == dtype
    err = (out.float() - ref).abs()
    max_abs, mean_rel = TOLERANCE[dtype]
    assert err.max() <= max_abs, err.max()
    assert err.mean() / ref.abs().mean() <= mean_rel
