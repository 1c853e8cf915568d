"""Instance-aware location tokens, paper Eq. 3-4: ``h' = MLP([c, Fourier(b)]) + e_id``.

``c`` is the category's text embedding (computed once per category name by the pipeline and
cached), ``Fourier(b)`` the box's Fourier features, and ``e_id`` a learnable identity embedding
taken from a bank by slot index. Training assigns each clip's instances random distinct slots, so
at inference any assignment works and the number of instances is bounded only by the bank size.

Beyond the paper, with ``use_phrases`` an instance may carry an appearance phrase ("red striped
star"): its text embedding ``p`` adds ``W_p p`` to the instance's tokens, only where the instance
has one. ``W_p`` starts at zero, so a model given the option starts as the one without it, and
instances without a phrase always get the category-only token.
"""

from __future__ import annotations

import torch
from torch import nn

from .fourier import box_fourier_features, fourier_dim


class InstanceLocationTokens(nn.Module):
    """Location tokens of every instance in every frame."""

    def __init__(self, category_dim: int, token_dim: int, hidden_dim: int = 512, num_freqs: int = 8,
                 identity_bank_size: int = 64, use_identity: bool = True, use_phrases: bool = False):
        super().__init__()
        self.num_freqs = num_freqs
        self.mlp = nn.Sequential(
            nn.Linear(category_dim + fourier_dim(num_freqs), hidden_dim),
            nn.SiLU(),
            nn.Linear(hidden_dim, hidden_dim),
            nn.SiLU(),
            nn.Linear(hidden_dim, token_dim),
        )
        # Zero-init identity bank: tokens start as Eq. 3 alone and learn identities from there.
        self.identity = nn.Embedding(identity_bank_size, token_dim) if use_identity else None
        if self.identity is not None:
            nn.init.zeros_(self.identity.weight)
        self.phrase = nn.Linear(category_dim, token_dim) if use_phrases else None
        if self.phrase is not None:
            nn.init.zeros_(self.phrase.weight)
            nn.init.zeros_(self.phrase.bias)

    @property
    def bank_size(self) -> int:
        return 0 if self.identity is None else self.identity.num_embeddings

    def forward(self, boxes: torch.Tensor, category_embeds: torch.Tensor,
                instance_slots: torch.Tensor | None = None, phrase_embeds: torch.Tensor | None = None,
                has_phrase: torch.Tensor | None = None) -> torch.Tensor:
        """
        Args:
            boxes: ``[B, T, N, 4]`` normalized xyxy (float32 whatever the model's dtype).
            category_embeds: ``[B, N, Dc]`` text embedding of each instance's category.
            instance_slots: ``[B, N]`` long, identity-bank entry of each instance (distinct per
                clip). Required when the identity embedding is on.
            phrase_embeds: ``[B, N, Dc]`` text embedding of each instance's appearance phrase
                (any values where ``has_phrase`` is False); only with ``use_phrases``.
            has_phrase: ``[B, N]`` bool, the instances that have a phrase.

        Returns:
            ``[B, T, N, D]`` tokens (absent instances are masked by the consumers).
        """
        T = boxes.shape[1]
        cat = category_embeds[:, None].expand(-1, T, -1, -1)  # [B, T, N, Dc]
        fourier = box_fourier_features(boxes, self.num_freqs).to(cat.dtype)  # float32 maths, then cast
        tokens = self.mlp(torch.cat([cat, fourier], dim=-1))
        if self.identity is not None:
            if instance_slots is None:
                raise ValueError("instance_slots [B, N] are required when use_identity_embedding is on")
            tokens = tokens + self.identity(instance_slots)[:, None]  # [B, 1, N, D]
        if phrase_embeds is not None:
            if self.phrase is None:
                raise ValueError("phrase_embeds given, but the model was built without appearance phrases "
                                 "(appearance_phrases=False)")
            if has_phrase is None:
                raise ValueError("phrase_embeds [B, N, Dc] need has_phrase [B, N]")
            # masked, not just zero inputs: the projection's bias must not reach phrase-less instances
            extra = self.phrase(phrase_embeds.to(tokens.dtype)) * has_phrase[..., None].to(tokens.dtype)
            tokens = tokens + extra[:, None]  # [B, 1, N, D]
        return tokens
