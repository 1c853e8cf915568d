"""With every TrackDiffusion gate at its initial value the model is diffusers' UNet3DConditionModel."""

from __future__ import annotations

import pytest
import torch
from diffusers import UNet3DConditionModel

from trackdiffusion.models import TrackDiffusionUNet, is_track_parameter, unet_config

from .conftest import TINY, make_inputs

BASE_KEYS = ("block_out_channels", "down_block_types", "up_block_types", "layers_per_block",
             "attention_head_dim", "norm_num_groups", "cross_attention_dim")


def _random_unet3d(tmp_path) -> str:
    torch.manual_seed(1)
    base = UNet3DConditionModel(**{k: TINY[k] for k in BASE_KEYS})
    with torch.no_grad():  # zero-initialised layers (e.g. the last temporal conv) must matter too
        for p in base.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    base.save_pretrained(tmp_path / "unet")
    return str(tmp_path / "unet")


@pytest.mark.parametrize("variant", [{}, dict(enhancer_placement="both", instance_injection="self"),
                                     dict(use_identity_embedding=False, use_instance_enhancer=False)])
def test_zero_gates_equal_unet3d(tmp_path, variant):
    path = _random_unet3d(tmp_path)
    base = UNet3DConditionModel.from_pretrained(path).eval()
    track = {k: v for k, v in TINY.items() if k not in BASE_KEYS}
    model = TrackDiffusionUNet.from_unet3d(path, **track, **variant).eval()
    x = make_inputs(model=model)
    with torch.no_grad():
        ref = base(x["sample"], x["timestep"], x["encoder_hidden_states"]).sample
        plain = model(x["sample"], x["timestep"], x["encoder_hidden_states"]).sample
        conditioned = model(**x).sample
    assert (plain - ref).abs().max() <= 1e-5
    assert (conditioned - ref).abs().max() <= 1e-5


def test_from_unet3d_loads_every_base_weight(tmp_path):
    path = _random_unet3d(tmp_path)
    base = UNet3DConditionModel.from_pretrained(path)
    model = TrackDiffusionUNet.from_unet3d(base, category_embed_dim=12)
    ours = model.state_dict()
    for name, value in base.state_dict().items():
        assert torch.equal(ours[name], value), name
    extra = set(ours) - set(base.state_dict())
    assert extra and all(is_track_parameter(k) for k in extra)


def test_from_unet3d_missing_folder_says_what_it_needs(tmp_path):
    with pytest.raises(FileNotFoundError, match="config.json"):
        TrackDiffusionUNet.from_unet3d(tmp_path / "nope")


def test_modelscope_preset_matches_unet3d_layout():
    """The modelscope preset has exactly the parameters (names and shapes) of ModelScope's UNet."""
    cfg = unet_config("modelscope")
    with torch.device("meta"):
        base = UNet3DConditionModel(**{k: cfg[k] for k in BASE_KEYS if k in cfg})
        model = TrackDiffusionUNet(**cfg)
    base_shapes = {k: v.shape for k, v in base.state_dict().items()}
    ours = {k: v.shape for k, v in model.state_dict().items() if not is_track_parameter(k)}
    assert ours == base_shapes
