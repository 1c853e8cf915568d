"""``patch_size`` folds p x p latent cells into channels around the blocks (DiT's patchify)."""

from __future__ import annotations

import pytest
import torch
from einops import rearrange

from .conftest import make_inputs, make_unet, open_gates


def test_a_patched_unet_is_the_unpatched_one_on_folded_latents():
    patched = open_gates(make_unet(in_channels=3, out_channels=3, patch_size=2, instance_map_channels=8))
    plain = open_gates(make_unet(in_channels=12, out_channels=12, instance_map_channels=8))
    plain.load_state_dict(patched.state_dict())
    x = make_inputs(B=2, T=3, N=2, size=16, model=patched)
    folded = {**x, "sample": rearrange(x["sample"], "b c t (h p) (w q) -> b (c p q) t h w", p=2, q=2)}
    with torch.no_grad():
        out = patched(**x).sample
        expect = rearrange(plain(**folded).sample, "b (c p q) t h w -> b c t (h p) (w q)", p=2, q=2)
    assert out.shape == x["sample"].shape
    torch.testing.assert_close(out, expect, rtol=0, atol=0)


def test_patch_size_is_checked():
    with pytest.raises(ValueError, match="patch_size must be >= 1 and divide sample_size 6, got 4"):
        make_unet(patch_size=4, sample_size=6)
    with pytest.raises(ValueError, match="got 0"):
        make_unet(patch_size=0)
