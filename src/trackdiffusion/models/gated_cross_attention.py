"""Gated cross-attention, paper Eq. 8: visual tokens read the enhanced instance tokens.

``V = V + tanh(gamma_attn) * CrossAttn(V, F'_t)`` then ``V = V + tanh(gamma_dense) * FF(V)``,
where ``F'_t`` are the temporally enhanced tokens (Eq. 7) of the instances present in frame t.
Both gates start at 0 (identity), or open with zeroed output projections (:mod:`.gates`). Absent instances are masked; a learned null token (zero-init)
is always attendable, so a visual token far from every object can attend to "no instance"
instead of being forced to mix instance features, and a frame with no instance is well defined.
"""

from __future__ import annotations

import torch
from diffusers.models.attention import FeedForward
from torch import nn

from .attention import MaskedAttention
from .gates import initial_gate, zero_outputs_if_open
from .gated_self_attention import CellPositionEmbedding


class GatedCrossAttention(nn.Module):
    """Eq. 8 with tanh gates and a null key."""

    def __init__(self, query_dim: int, context_dim: int, heads: int, dim_head: int,
                 position_embedding: bool = False, num_freqs: int = 8, gate_init: str = "zero"):
        super().__init__()
        self.norm1 = nn.LayerNorm(query_dim)
        self.attn = MaskedAttention(query_dim, context_dim, heads=heads, dim_head=dim_head)
        self.null_token = nn.Parameter(torch.zeros(context_dim))
        self.norm2 = nn.LayerNorm(query_dim)
        self.ff = FeedForward(query_dim, activation_fn="geglu")
        self.gamma_attn = nn.Parameter(torch.tensor(initial_gate(gate_init)))
        self.gamma_dense = nn.Parameter(torch.tensor(initial_gate(gate_init)))
        self.position = CellPositionEmbedding(query_dim, num_freqs) if position_embedding else None
        zero_outputs_if_open(gate_init, self.attn.to_out[0], self.ff.net[-1])

    def forward(self, x: torch.Tensor, instances: torch.Tensor, instance_mask: torch.Tensor,
                hw: tuple[int, int], cell_mask: torch.Tensor | None = None) -> torch.Tensor:
        """
        Args:
            x: ``[B*T, H*W, C]`` visual tokens of each frame.
            instances: ``[B*T, N, D]`` enhanced instance tokens of that frame.
            instance_mask: ``[B*T, N]`` bool, True where the instance is present.
            hw: ``(H, W)`` of the feature map.
            cell_mask: optional ``[B*T, H*W, N]``: each visual token reads only these instances.

        Returns:
            ``[B*T, H*W, C]``.
        """
        BT = x.shape[0]
        null = self.null_token.expand(BT, 1, -1)
        context = torch.cat([null, instances], dim=1)  # [BT, 1+N, D]
        visible = instance_mask[:, None, :] if cell_mask is None else cell_mask  # [BT, 1 or HW, N]
        mask = torch.cat([visible.new_ones(BT, visible.shape[1], 1), visible], dim=2)  # null always visible
        query = self.norm1(x)
        if self.position is not None:
            query = query + self.position(*hw, like=x)
        x = x + torch.tanh(self.gamma_attn) * self.attn(query, context, key_mask=mask)
        return x + torch.tanh(self.gamma_dense) * self.ff(self.norm2(x))
