"""The tracklet conditioning of one forward pass, computed once and shared by every block."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from einops import rearrange

from .box_masks import box_cell_mask


@dataclass
class TrackConditioning:
    """
    Attributes:
        tokens: ``[B*T, N, D]`` instance-aware location tokens (Eq. 4) of each frame.
        boxes: ``[B, T, N, 4]`` normalized xyxy, zero where absent, float32 in every model dtype.
        present: ``[B, T, N]`` bool.
        trajectory: ``[B, T, N, Dp]`` trajectory tokens, or None without an enhancer.
        temporal: False in the image stage (frames independent; enhancers are skipped).
        box_attention: visual tokens read only the instances whose box covers them.
    """

    tokens: torch.Tensor
    boxes: torch.Tensor
    present: torch.Tensor
    trajectory: torch.Tensor | None
    temporal: bool = True
    box_attention: bool = False
    _cells: dict = field(default_factory=dict, repr=False)

    @property
    def frame_mask(self) -> torch.Tensor:
        """``[B*T, N]`` presence of each instance in each frame."""
        return rearrange(self.present, "b t n -> (b t) n")

    def cell_mask(self, height: int, width: int) -> torch.Tensor | None:
        """``[B*T, H*W, N]``: which present instance boxes cover each cell (box attention only)."""
        if not self.box_attention:
            return None
        if (height, width) not in self._cells:
            cells = box_cell_mask(self.boxes, self.present, height, width)  # [B, T, N, H, W]
            self._cells[(height, width)] = rearrange(cells, "b t n h w -> (b t) (h w) n")
        return self._cells[(height, width)]
