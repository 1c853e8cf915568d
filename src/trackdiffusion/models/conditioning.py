"""The tracklet conditioning of one forward pass, computed once and shared by every block."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from einops import rearrange


@dataclass
class TrackConditioning:
    """
    Attributes:
        tokens: ``[B*T, N, D]`` instance-aware location tokens (Eq. 4) of each frame.
        boxes: ``[B, T, N, 4]`` normalized xyxy, zero where absent.
        present: ``[B, T, N]`` bool.
        trajectory: ``[B, T, N, Dp]`` trajectory tokens, or None without an enhancer.
        temporal: False in the image stage (frames independent; enhancers are skipped).
    """

    tokens: torch.Tensor
    boxes: torch.Tensor
    present: torch.Tensor
    trajectory: torch.Tensor | None
    temporal: bool = True

    @property
    def frame_mask(self) -> torch.Tensor:
        """``[B*T, N]`` presence of each instance in each frame."""
        return rearrange(self.present, "b t n -> (b t) n")
