"""``model.reset_latent_io``: a trained UNet's body continues on another latent space (another VAE,
or ``options.patch_size``) with conv_in / conv_out started afresh; without it such a change is an error."""

from __future__ import annotations

import json

import pytest
import torch

from trackdiffusion.models import TrackDiffusionUNet
from trackdiffusion.pipelines import TrackDiffusionPipeline
from trackdiffusion.pipelines.generation import ModelInfo
from trackdiffusion.training import trainer
from trackdiffusion.training.components import build_unet

from .conftest import tiny_config

IO = ("conv_in.", "conv_out.")


@pytest.fixture(scope="module")
def pixel_checkpoint(tiny_world, tmp_path_factory):
    out = tmp_path_factory.mktemp("latent-io") / "pixels"
    return trainer.train(tiny_config(tiny_world, out, max_steps=2, stage="spatial"), progress=False)


def _continue(checkpoint, world, out, reset: bool, **options):
    cfg = tiny_config(world, out, max_steps=2, stage="spatial")
    cfg.model.init_checkpoint, cfg.model.reset_latent_io = str(checkpoint), reset
    cfg.model.options = {**cfg.model.options, **options}
    return cfg.validate()


def test_another_latent_space_needs_reset_latent_io(pixel_checkpoint, tiny_world, tmp_path):
    cfg = _continue(pixel_checkpoint, tiny_world, tmp_path, reset=False)
    with pytest.raises(ValueError, match=r"another latent space .*'in_channels': \(3, 4\).*reset_latent_io=true"):
        build_unet(cfg, 384, 4, 2)
    with pytest.raises(ValueError, match=r"\['patch_size'\] differ from"):
        build_unet(_continue(pixel_checkpoint, tiny_world, tmp_path, reset=False, patch_size=2), 384, 3, 1)
    cfg.model.init_checkpoint, cfg.model.reset_latent_io = None, True
    with pytest.raises(ValueError, match="model.reset_latent_io needs model.init_checkpoint"):
        cfg.validate()


def test_reset_keeps_the_body_and_restarts_conv_in_and_conv_out(pixel_checkpoint, tiny_world, tmp_path):
    trained = dict(TrackDiffusionUNet.from_pretrained(pixel_checkpoint / "unet").named_parameters())
    unet = build_unet(_continue(pixel_checkpoint, tiny_world, tmp_path, reset=True, patch_size=2), 384, 4, 2)
    c = unet.config
    assert (c.in_channels, c.out_channels, c.patch_size, c.sample_size) == (4, 4, 2, 16)  # 32 px / VAE factor 2
    assert unet.conv_in.weight.shape[1] == 16 and unet.conv_out.weight.shape[0] == 16
    assert unet.conv_out.weight.abs().sum() == 0 and unet.conv_out.bias.abs().sum() == 0
    body = [n for n in trained if not n.startswith(IO)]
    assert len(body) > 50
    for name, p in unet.named_parameters():
        if not name.startswith(IO):
            torch.testing.assert_close(p, trained[name], rtol=0, atol=0, msg=name)
    # reset also when the shapes happen to match: the old convolutions belong to the old latent space
    same = build_unet(_continue(pixel_checkpoint, tiny_world, tmp_path, reset=True), 384, 3, 1)
    assert same.conv_out.weight.abs().sum() == 0
    assert not torch.equal(same.conv_in.weight, trained["conv_in.weight"])


def test_training_continues_with_patches_and_the_pipeline_reads_them(pixel_checkpoint, tiny_world, tmp_path):
    final = trainer.train(_continue(pixel_checkpoint, tiny_world, tmp_path / "run", reset=True, patch_size=2),
                          progress=False)
    saved = json.loads((final / "unet" / "config.json").read_text())
    assert saved["patch_size"] == 2 and saved["in_channels"] == 3
    pipe = TrackDiffusionPipeline.from_pretrained(final)
    assert pipe.unet.conv_out.weight.abs().sum() > 0  # trained away from its zero start
    assert pipe.size_factor == 2 * 2  # patches of 2 pixels, one downsampling
    assert ModelInfo.from_checkpoint(final, "x", "float32").size_factor == 4  # read from the config files alone
