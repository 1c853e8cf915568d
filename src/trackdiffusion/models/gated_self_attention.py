"""Gated self-attention, paper Eq. 5 (GLIGEN's fuser).

``V = V + tanh(alpha_attn) * TS(SelfAttn([V, H']))`` followed by a gated feed-forward
``V = V + tanh(alpha_dense) * FF(V)``. ``TS`` keeps the visual tokens. Both gates start at 0, so
the block starts as the identity (or open, with zeroed output projections: :mod:`.gates`). Absent instances are masked out of the attention.

Parameter names (``linear``, ``attn``, ``ff``, ``norm1``, ``norm2``, ``alpha_attn``,
``alpha_dense``) follow GLIGEN so its fuser weights load unchanged. ``position`` (ours, optional)
adds the Fourier feature of each visual token's cell to the attention input: models trained from
scratch have no other way to know where a token sits, which they need to match it to a box.
"""

from __future__ import annotations

import torch
from diffusers.models.attention import FeedForward
from torch import nn

from .attention import MaskedAttention
from .gates import initial_gate, zero_outputs_if_open
from .fourier import box_fourier_features, fourier_dim, grid_cell_boxes


class CellPositionEmbedding(nn.Module):
    """Fourier features of the feature-map cells, projected to the token width."""

    def __init__(self, dim: int, num_freqs: int = 8):
        super().__init__()
        self.num_freqs = num_freqs
        self.proj = nn.Linear(fourier_dim(num_freqs), dim)

    def forward(self, height: int, width: int, like: torch.Tensor) -> torch.Tensor:
        """``[H*W, dim]`` for an ``H x W`` map (dtype/device of ``like``)."""
        cells = grid_cell_boxes(height, width, device=like.device)  # float32, see .fourier
        return self.proj(box_fourier_features(cells, self.num_freqs).to(like.dtype))


class GatedSelfAttention(nn.Module):
    """Eq. 5: visual tokens attend to ``[visual, objects]``; a tanh gate adds the result."""

    def __init__(self, query_dim: int, context_dim: int, heads: int, dim_head: int,
                 position_embedding: bool = False, num_freqs: int = 8, gate_init: str = "zero"):
        super().__init__()
        self.linear = nn.Linear(context_dim, query_dim)
        self.attn = MaskedAttention(query_dim, heads=heads, dim_head=dim_head)
        self.ff = FeedForward(query_dim, activation_fn="geglu")
        self.norm1 = nn.LayerNorm(query_dim)
        self.norm2 = nn.LayerNorm(query_dim)
        self.alpha_attn = nn.Parameter(torch.tensor(initial_gate(gate_init)))
        self.alpha_dense = nn.Parameter(torch.tensor(initial_gate(gate_init)))
        self.position = CellPositionEmbedding(query_dim, num_freqs) if position_embedding else None
        zero_outputs_if_open(gate_init, self.attn.to_out[0], self.ff.net[-1])

    def forward(self, x: torch.Tensor, objects: torch.Tensor, object_mask: torch.Tensor,
                hw: tuple[int, int], cell_mask: torch.Tensor | None = None) -> torch.Tensor:
        """
        Args:
            x: ``[B*T, H*W, C]`` visual tokens of each frame.
            objects: ``[B*T, N, D]`` tokens of the instances in that frame.
            object_mask: ``[B*T, N]`` bool, True where the instance is present.
            hw: ``(H, W)`` of the feature map.
            cell_mask: optional ``[B*T, H*W, N]``: each visual token reads only these instances.

        Returns:
            ``[B*T, H*W, C]``.
        """
        BT, n_visual = x.shape[:2]
        visual = x if self.position is None else x + self.position(*hw, like=x)
        tokens = self.norm1(torch.cat([visual, self.linear(objects)], dim=1))  # [BT, HW+N, C]
        objects_visible = object_mask[:, None, :] if cell_mask is None else cell_mask  # [BT, 1 or HW, N]
        mask = torch.cat([objects_visible.new_ones(BT, objects_visible.shape[1], n_visual),
                          objects_visible], dim=2)  # [BT, 1 or HW, HW+N]
        # TS(.) keeps the visual outputs, so only visual tokens need to be queries.
        x = x + torch.tanh(self.alpha_attn) * self.attn(tokens[:, :n_visual], tokens, key_mask=mask)
        return x + torch.tanh(self.alpha_dense) * self.ff(self.norm2(x))
