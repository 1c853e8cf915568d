"""Multi-head attention with a key mask, shared by every TrackDiffusion conditioning module.

Parameter names (``to_q``, ``to_k``, ``to_v``, ``to_out.0``) follow diffusers' ``Attention`` so
that GLIGEN-style weights load unchanged. Unlike a plain softmax, a query row whose keys are all
masked returns zeros instead of NaN: e.g. a frame in which no instance is present.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn


class MaskedAttention(nn.Module):
    """Attention of ``x`` over ``context`` (self-attention when ``context`` is None)."""

    def __init__(self, query_dim: int, context_dim: int | None = None, heads: int = 8,
                 dim_head: int = 64):
        super().__init__()
        context_dim = query_dim if context_dim is None else context_dim
        inner = heads * dim_head
        self.heads = heads
        self.to_q = nn.Linear(query_dim, inner, bias=False)
        self.to_k = nn.Linear(context_dim, inner, bias=False)
        self.to_v = nn.Linear(context_dim, inner, bias=False)
        self.to_out = nn.ModuleList([nn.Linear(inner, query_dim), nn.Dropout(0.0)])

    def forward(self, x: torch.Tensor, context: torch.Tensor | None = None,
                key_mask: torch.Tensor | None = None) -> torch.Tensor:
        """
        Args:
            x: ``[B, Lq, C]`` queries.
            context: ``[B, Lk, Cc]`` keys/values; ``x`` itself when None.
            key_mask: bool, True where a key may be attended to: ``[B, Lk]`` (the same for every
                query) or ``[B, Lq, Lk]`` (per query).

        Returns:
            ``[B, Lq, C]``; rows with no valid key are zero.
        """
        context = x if context is None else context
        q, k, v = self.to_q(x), self.to_k(context), self.to_v(context)
        # [B, L, heads*d] -> [B, heads, L, d]
        q, k, v = (rearrange(t, "b l (h d) -> b h l d", h=self.heads) for t in (q, k, v))
        mask = empty = None
        if key_mask is not None:
            per_query = key_mask if key_mask.dim() == 3 else key_mask[:, None, :]  # [B, Lq or 1, Lk]
            empty = ~per_query.any(dim=-1)  # rows with no key at all
            # Let empty rows attend everywhere (finite softmax), then zero them below.
            mask = (per_query | empty[..., None])[:, None]  # [B, 1, Lq or 1, Lk]
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        out = rearrange(out, "b h l d -> b l (h d)")
        out = self.to_out[1](self.to_out[0](out))
        if empty is not None:  # unconditionally: testing empty.any() would be a host sync
            out = out.masked_fill(empty[..., None], 0.0)
        return out
