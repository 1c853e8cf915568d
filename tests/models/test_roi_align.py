"""ROIAlign against hand-computed cases (and torchvision when it is installed)."""

from __future__ import annotations

import pytest
import torch

from trackdiffusion.models import roi_align

RAMP = torch.arange(16, dtype=torch.float64).reshape(1, 1, 4, 4)  # f(y, x) = 4y + x


def _one(features, box, size=1, ratio=2, **kw):
    rois = torch.tensor([[0.0, *box]], dtype=features.dtype)
    return roi_align(features, rois, size, sampling_ratio=ratio, **kw)


def test_whole_map_average_of_a_ramp():
    # aligned: samples at x, y in {0.5, 2.5}; the ramp is linear so the mean is f(1.5, 1.5) = 7.5
    assert _one(RAMP, (0, 0, 4, 4)).item() == pytest.approx(7.5)


def test_unit_box_returns_the_pixel():
    # pixel (row 2, col 1) spans x in [1, 2], y in [2, 3]; its centre is sampled exactly
    assert _one(RAMP, (1, 2, 2, 3), ratio=1).item() == pytest.approx(9.0)


def test_bilinear_interpolation_between_pixels():
    f = torch.tensor([[[[0.0, 1.0], [2.0, 3.0]]]], dtype=torch.float64)
    # sample at x = 0.5 - 0.5 + 0.25 = 0.25, y = 0.5 - 0.5 + 0.5 = 0.5 -> 0.25 + 2 * 0.5
    assert _one(f, (0.5, 0.5, 1.0, 1.5), ratio=1).item() == pytest.approx(1.25)


def test_samples_outside_the_map():
    # within one pixel outside: the edge value; further out: zero
    assert _one(RAMP, (-0.75, 0.5, -0.25, 1.5), ratio=1).item() == pytest.approx(2.0)  # x=-1 -> col 0, y=0.5
    assert _one(RAMP, (-3, -3, -2, -2), ratio=1).item() == 0.0


def test_output_grid_and_batch_index():
    f = torch.stack([RAMP[0], RAMP[0] * 10])  # [2, 1, 4, 4]
    rois = torch.tensor([[1.0, 0, 0, 4, 4]], dtype=torch.float64)
    out = roi_align(f, rois, 2, sampling_ratio=1)
    # 2x2 bins of the whole map, one sample at each bin centre (0.5 or 2.5 after alignment)
    expect = torch.tensor([[2.5, 4.5], [10.5, 12.5]], dtype=torch.float64) * 10
    torch.testing.assert_close(out[0, 0], expect)


def test_gradient_is_correct():
    f = torch.randn(1, 2, 5, 6, dtype=torch.float64, requires_grad=True)
    rois = torch.tensor([[0, 0.3, 1.2, 4.1, 4.4], [0, -0.6, -0.2, 2.0, 5.5]], dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda x: roi_align(x, rois, 2, sampling_ratio=2), (f,))


def test_adaptive_sampling_is_refused():
    with pytest.raises(ValueError, match="sampling_ratio"):
        _one(RAMP, (0, 0, 4, 4), ratio=0)


def test_matches_torchvision_when_installed():
    tv = pytest.importorskip("torchvision.ops")
    g = torch.Generator().manual_seed(0)
    f = torch.randn(2, 3, 9, 11, generator=g, dtype=torch.float64)
    xy = torch.rand(20, 2, generator=g) * 12 - 1
    wh = torch.rand(20, 2, generator=g) * 6 + 0.1
    rois = torch.cat([torch.randint(0, 2, (20, 1), generator=g).double(), xy, xy + wh], dim=1).double()
    for size, ratio, scale in [(1, 2, 1.0), (3, 2, 0.5), (2, 1, 1.0)]:
        ours = roi_align(f, rois, size, spatial_scale=scale, sampling_ratio=ratio)
        ref = tv.roi_align(f, rois, size, spatial_scale=scale, sampling_ratio=ratio, aligned=True)
        torch.testing.assert_close(ours, ref, atol=1e-10, rtol=1e-10)
