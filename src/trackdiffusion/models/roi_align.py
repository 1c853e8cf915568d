"""ROIAlign in pure PyTorch (paper Eq. 6 extracts instance features with it).

Matches ``torchvision.ops.roi_align(..., aligned=True, sampling_ratio=s)`` for a fixed
``s > 0`` (values and gradients): each output bin averages ``s x s`` bilinear samples; a sample
more than one pixel outside the map contributes 0, one within that margin takes the edge value.
torchvision's adaptive ``sampling_ratio <= 0`` needs a data-dependent sample count per box and is
not supported. torchvision stays an optional dependency.
"""

from __future__ import annotations

import torch


def roi_align(features: torch.Tensor, rois: torch.Tensor, output_size: int | tuple[int, int],
              spatial_scale: float = 1.0, sampling_ratio: int = 2, aligned: bool = True) -> torch.Tensor:
    """
    Args:
        features: ``[B, C, H, W]``.
        rois: ``[K, 5]`` rows ``(batch_index, x1, y1, x2, y2)`` in input coordinates, float32 or
            float64 whatever the features' dtype: half precision cannot hold the batch index
            (bf16 rounds 319 to 320) nor sub-pixel corners.
        output_size: ``(oh, ow)`` or one int.
        spatial_scale: factor from ROI coordinates to feature-map pixels.
        sampling_ratio: samples per bin side (> 0).
        aligned: shift by half a pixel (the correct alignment; torchvision's ``aligned=True``).

    Returns:
        ``[K, C, oh, ow]`` in the features' dtype (the sampling geometry is computed in the rois'
        dtype, only the bilinear weights are cast).
    """
    if rois.dtype not in (torch.float32, torch.float64):
        raise ValueError(f"rois must be float32 or float64 (exact batch indices), got {rois.dtype}")
    if sampling_ratio <= 0:
        raise ValueError(f"sampling_ratio must be > 0 (got {sampling_ratio}); the adaptive mode is not supported")
    oh, ow = (output_size, output_size) if isinstance(output_size, int) else output_size
    B, C, H, W = features.shape
    K = rois.shape[0]
    if K == 0:
        return features.new_zeros(0, C, oh, ow)
    s = sampling_ratio
    offset = 0.5 if aligned else 0.0
    idx = rois[:, 0].long()
    x1, y1, x2, y2 = (rois[:, i] * spatial_scale - offset for i in range(1, 5))
    roi_w, roi_h = x2 - x1, y2 - y1
    if not aligned:
        roi_w, roi_h = roi_w.clamp(min=1.0), roi_h.clamp(min=1.0)
    # Sample positions inside each bin: (bin + (i + 0.5) / s) * bin_size, per axis.
    steps_y = (torch.arange(oh, device=rois.device, dtype=rois.dtype)[:, None]
               + (torch.arange(s, device=rois.device, dtype=rois.dtype)[None, :] + 0.5) / s).reshape(-1)
    steps_x = (torch.arange(ow, device=rois.device, dtype=rois.dtype)[:, None]
               + (torch.arange(s, device=rois.device, dtype=rois.dtype)[None, :] + 0.5) / s).reshape(-1)
    ys = y1[:, None] + steps_y[None] * (roi_h / oh)[:, None]  # [K, oh*s]
    xs = x1[:, None] + steps_x[None] * (roi_w / ow)[:, None]  # [K, ow*s]
    y = ys[:, :, None].expand(K, oh * s, ow * s)
    x = xs[:, None, :].expand(K, oh * s, ow * s)
    valid = (y >= -1.0) & (y <= H) & (x >= -1.0) & (x <= W)
    y = y.clamp(0, H - 1)
    x = x.clamp(0, W - 1)
    y0 = y.floor().clamp(max=H - 1)
    x0 = x.floor().clamp(max=W - 1)
    y1i = (y0 + 1).clamp(max=H - 1)
    x1i = (x0 + 1).clamp(max=W - 1)
    ly, lx = (y - y0).to(features.dtype), (x - x0).to(features.dtype)
    # Gather sample corners from [B*H*W, C] rows: cost grows with the samples, not with K * H * W.
    table = features.permute(0, 2, 3, 1).reshape(B * H * W, C)
    base = (idx * (H * W))[:, None, None]

    def corner(yy: torch.Tensor, xx: torch.Tensor) -> torch.Tensor:
        return table[(base + yy.long() * W + xx.long()).reshape(-1)].reshape(K, oh * s, ow * s, C)

    value = (corner(y0, x0) * ((1 - ly) * (1 - lx))[..., None] + corner(y0, x1i) * ((1 - ly) * lx)[..., None]
             + corner(y1i, x0) * (ly * (1 - lx))[..., None] + corner(y1i, x1i) * (ly * lx)[..., None])
    value = (value * valid[..., None].to(value.dtype)).permute(0, 3, 1, 2)  # [K, C, oh*s, ow*s]
    # average the s x s samples of each bin -> [K, C, oh, ow]
    return value.reshape(K, C, oh, s, ow, s).mean(dim=(3, 5))
