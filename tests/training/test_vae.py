"""``train-vae``: foreground-weighted reconstruction, latent channels, the PSNR report."""

from __future__ import annotations

import json

import pytest
import torch

from trackdiffusion.training.vae import VAEConfig, load_frames, pixel_weights, reconstruction_loss, train_vae


def test_pixel_weights_weigh_boxes_and_keep_mean_one():
    masks = torch.zeros(2, 4, 4, dtype=torch.bool)
    masks[0, :2, :2] = True  # a quarter of frame 0; frame 1 has no box
    w = pixel_weights(masks, 5.0)
    assert w.shape == (2, 1, 4, 4)
    torch.testing.assert_close(w.mean(dim=(1, 2, 3)), torch.ones(2))
    assert float(w[0, 0, 0, 0] / w[0, 0, 3, 3]) == pytest.approx(5.0)
    assert torch.equal(w[1], torch.ones(1, 4, 4))


def test_edge_loss_pays_for_a_blurred_edge_and_not_for_an_offset():
    x = torch.zeros(1, 3, 2, 4)                        # two equal rows: no vertical differences
    x[..., 2:] = 1.0                                  # a step edge: 0 0 1 1
    w = torch.ones(1, 1, 2, 4)
    blurred = torch.tensor([0.0, 0.5, 0.5, 1.0]).expand(1, 3, 2, 4)
    offset = x + 0.25                                  # the same edge, every pixel off by 0.25
    base_blur, base_offset = (reconstruction_loss(r, x, w, 0.0) for r in (blurred, offset))
    # pixel differences of the blur: 0.5 0 0.5 against 0 1 0 -> |0.5| + |-1| + |0.5| over 3 pairs;
    # the vertical term (its own mean) adds 0
    assert float(reconstruction_loss(blurred, x, w, 2.0) - base_blur) == pytest.approx(2.0 * 2.0 / 3)
    assert float(reconstruction_loss(offset, x, w, 2.0)) == pytest.approx(float(base_offset))
    assert float(base_offset) == pytest.approx(0.25 + 0.0625)
    # a pair of pixels weighs the mean of their weights: pair (0, 1) weighs 1, pair (1, 2) weighs 2
    w2 = torch.tensor([1.0, 1.0, 3.0, 3.0]).expand(1, 1, 2, 4)
    spike = x.clone()
    spike[..., 1] = 1.0                                # 0 1 1 1: pairs (0,1) and (1,2) wrong by 1
    edge = reconstruction_loss(spike, x, w2, 1.0) - reconstruction_loss(spike, x, w2, 0.0)
    assert float(edge) == pytest.approx((1.0 * 1 + 2.0 * 1) / 3)


def test_load_frames_masks_cover_the_boxes(tiny_world):
    frames, masks = load_frames(str(tiny_world / "val"), 32)
    assert frames.dtype == torch.uint8 and frames.shape[1:] == (3, 32, 32)
    assert masks.shape == (frames.shape[0], 32, 32) and 0 < masks.float().mean() < 1


def test_train_vae_reports_object_and_background_psnr(tiny_world, tmp_path):
    cfg = VAEConfig(data=str(tiny_world / "train"), val_data=str(tiny_world / "val"), output_dir=str(tmp_path / "vae"),
                    size=32, block_out_channels=(8, 8), latent_channels=8, max_steps=3, batch_size=2,
                    foreground_weight=4.0, checkpoint_every=3, log_every=1)
    final = train_vae(cfg, progress=False)
    report = json.loads((tmp_path / "vae" / "report.json").read_text())
    for split in ("train", "val"):
        assert {f"{split}_psnr_db", f"{split}_object_psnr_db", f"{split}_background_psnr_db"} <= set(report)
    assert json.loads((final / "config.json").read_text())["latent_channels"] == 8
    assert json.loads((tmp_path / "vae" / "vae_config.json").read_text())["foreground_weight"] == 4.0
    with pytest.raises(ValueError, match="foreground_weight must be > 0"):
        train_vae(VAEConfig(data=str(tiny_world / "train"), output_dir=str(tmp_path / "bad"), foreground_weight=0.0))
    with pytest.raises(ValueError, match="edge_weight must be >= 0, got -1"):
        train_vae(VAEConfig(data=str(tiny_world / "train"), output_dir=str(tmp_path / "bad"), edge_weight=-1.0))


def test_round_trip_split_keeps_labels_and_frame_count(tiny_world, tmp_path):
    from diffusers import AutoencoderKL

    from trackdiffusion.evaluation.vae_round_trip import round_trip_split
    from trackdiffusion.tracklets.formats import read_tracklets
    from trackdiffusion.tracklets.loader import read_clip_frames

    torch.manual_seed(0)
    vae = AutoencoderKL(block_out_channels=(8, 8), down_block_types=("DownEncoderBlock2D",) * 2,
                        up_block_types=("UpDecoderBlock2D",) * 2, latent_channels=4, norm_num_groups=4).eval()
    real = read_tracklets(tiny_world / "val")
    labels = round_trip_split(vae, real, tmp_path / "rt")
    back = read_tracklets(tmp_path / "rt")
    assert [c.name for c in back.clips] == [c.name for c in real.clips]
    for a, b in zip(real.clips, back.clips):
        assert [i.id for i in a.instances] == [i.id for i in b.instances]
        assert read_clip_frames(b, tmp_path / "rt").shape == read_clip_frames(a, real.image_root).shape
    assert labels.image_root == str(tmp_path / "rt")


def test_decoder_only_keeps_the_latents(tiny_world, tmp_path):
    base = VAEConfig(data=str(tiny_world / "train"), output_dir=str(tmp_path / "a"), size=32, block_out_channels=(8, 8),
                     max_steps=2, batch_size=2, checkpoint_every=2)
    first = train_vae(base, progress=False)
    cfg = VAEConfig(data=str(tiny_world / "train"), output_dir=str(tmp_path / "b"), size=32, max_steps=2, batch_size=2,
                    checkpoint_every=2, init=str(first), decoder_only=True, foreground_weight=3.0, edge_weight=1.0)
    second = train_vae(cfg, progress=False)
    from diffusers import AutoencoderKL

    a, b = (AutoencoderKL.from_pretrained(p).eval() for p in (first, second))
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        assert torch.equal(a.encode(x).latent_dist.mode(), b.encode(x).latent_dist.mode())
        assert not torch.equal(a.decode(a.encode(x).latent_dist.mode()).sample, b.decode(b.encode(x).latent_dist.mode()).sample)
    assert a.config.scaling_factor == b.config.scaling_factor
    with pytest.raises(ValueError, match="decoder_only needs init"):
        train_vae(VAEConfig(data=str(tiny_world / "train"), output_dir=str(tmp_path / "c"), decoder_only=True))


def test_a_wider_fresh_decoder_keeps_the_latents_and_loads_everywhere(tiny_world, tmp_path):
    from diffusers import AsymmetricAutoencoderKL

    from trackdiffusion.models.autoencoder import load_autoencoder
    from trackdiffusion.training.components import latent_layout, load_vae

    first = train_vae(VAEConfig(data=str(tiny_world / "train"), output_dir=str(tmp_path / "a"), size=32,
                                block_out_channels=(8, 8), norm_num_groups=4, max_steps=2, batch_size=2,
                                checkpoint_every=2), progress=False)
    cfg = VAEConfig(data=str(tiny_world / "train"), output_dir=str(tmp_path / "b"), size=32, max_steps=2,
                    batch_size=2, checkpoint_every=2, init=str(first), decoder_only=True,
                    decoder_channels=(16, 24), decoder_layers_per_block=2)
    second = train_vae(cfg, progress=False)
    a, b = load_autoencoder(first).eval(), load_autoencoder(second).eval()
    assert isinstance(b, AsymmetricAutoencoderKL) and isinstance(load_vae(str(second)), AsymmetricAutoencoderKL)
    assert tuple(b.config.up_block_out_channels) == (16, 24) and b.config.layers_per_up_block == 2
    assert b.config.scaling_factor == a.config.scaling_factor
    assert latent_layout(b) == latent_layout(a)
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        z = b.encode(x).latent_dist.mode()
        assert torch.equal(a.encode(x).latent_dist.mode(), z)
        assert b.decode(z).sample.shape == x.shape
    with pytest.raises(ValueError, match=r"one width per encoder block \(2: \(8, 8\)\)"):
        train_vae(VAEConfig(data=str(tiny_world / "train"), output_dir=str(tmp_path / "c"), init=str(first),
                            decoder_only=True, decoder_channels=(16, 16, 16)), progress=False)
    with pytest.raises(ValueError, match="decoder_channels needs decoder_only"):
        train_vae(VAEConfig(data=str(tiny_world / "train"), output_dir=str(tmp_path / "d"), init=str(first),
                            decoder_channels=(16, 24)), progress=False)


def test_load_autoencoder_names_the_file_and_the_class(tmp_path):
    from trackdiffusion.models.autoencoder import load_autoencoder

    with pytest.raises(FileNotFoundError, match=f"no autoencoder at {tmp_path}"):
        load_autoencoder(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps({"_class_name": "VQModel"}))
    with pytest.raises(ValueError, match="_class_name 'VQModel' is not an autoencoder"):
        load_autoencoder(tmp_path)


def test_latent_noise_changes_the_decoder_reproducibly(tiny_world, tmp_path):
    from safetensors.torch import load_file

    first = train_vae(VAEConfig(data=str(tiny_world / "train"), output_dir=str(tmp_path / "a"), size=32,
                                block_out_channels=(8, 8), max_steps=2, batch_size=2, checkpoint_every=2), progress=False)

    def decoder(name: str, noise: float) -> dict:
        final = train_vae(VAEConfig(data=str(tiny_world / "train"), output_dir=str(tmp_path / name), size=32, max_steps=2,
                                    batch_size=2, checkpoint_every=2, init=str(first), decoder_only=True,
                                    latent_noise=noise), progress=False)
        return load_file(final / "diffusion_pytorch_model.safetensors")

    clean, noisy, again = decoder("clean", 0.0), decoder("noisy", 0.5), decoder("again", 0.5)
    key = "decoder.conv_out.weight"
    assert torch.equal(noisy[key], again[key]) and not torch.equal(noisy[key], clean[key])
    with pytest.raises(ValueError, match="latent_noise must be >= 0, got -0.1"):
        train_vae(VAEConfig(data=str(tiny_world / "train"), output_dir=str(tmp_path / "bad"), latent_noise=-0.1))


def test_block_channels_set_the_downsampling_from_the_cli(tiny_world, tmp_path):
    from diffusers import AutoencoderKL
    from typer.testing import CliRunner

    from trackdiffusion.cli.main import app

    runner = CliRunner()
    base = ["train-vae", "--data", str(tiny_world / "train"), "--size", "32", "--steps", "2", "--batch-size", "2",
            "--quiet"]
    done = runner.invoke(app, [*base, "--out", str(tmp_path / "f2"), "--block-channels", "8,16"])
    assert done.exit_code == 0, done.output
    vae = AutoencoderKL.from_pretrained(tmp_path / "f2" / "final")
    assert list(vae.config.block_out_channels) == [8, 16]
    assert vae.encode(torch.zeros(1, 3, 32, 32)).latent_dist.mode().shape == (1, 4, 16, 16)  # factor 2
    odd = runner.invoke(app, [*base, "--out", str(tmp_path / "odd"), "--block-channels", "8,12"])
    assert "block_out_channels (8, 12) must be multiples of norm_num_groups=8" in str(odd.exception)
    bad = runner.invoke(app, [*base, "--out", str(tmp_path / "bad"), "--block-channels", "8,x"])
    assert bad.exit_code != 0 and "--block-channels '8,x': expected comma-separated integers" in bad.output
    both = runner.invoke(app, [*base, "--out", str(tmp_path / "both"), "--block-channels", "8,16",
                               "--init", str(tmp_path / "f2" / "final")])
    assert both.exit_code != 0 and "with --init the architecture is the init's" in " ".join(
        both.output.replace("│", " ").split())
    with pytest.raises(ValueError, match="size 34 must be divisible by the downsampling factor 4"):
        train_vae(VAEConfig(data=str(tiny_world / "train"), output_dir=str(tmp_path / "s"), size=34))


def test_vae_round_trip_command_scores_both_splits_and_draws_their_pairs(tiny_world, tmp_path):
    from diffusers import AutoencoderKL
    from PIL import Image
    from typer.testing import CliRunner

    from trackdiffusion.cli.main import app

    torch.manual_seed(0)
    AutoencoderKL(block_out_channels=(8, 8), down_block_types=("DownEncoderBlock2D",) * 2,
                  up_block_types=("UpDecoderBlock2D",) * 2, latent_channels=4,
                  norm_num_groups=4).save_pretrained(tmp_path / "vae")
    result = CliRunner().invoke(app, ["evaluate", "vae-round-trip", "--vae", str(tmp_path / "vae"),
                                      "--val", str(tiny_world / "val"), "--out", str(tmp_path / "rt")])
    assert result.exit_code == 0, result.output
    scores = json.loads((tmp_path / "rt" / "vae_round_trip.json").read_text())
    assert set(scores) == {"real", "round_trip", "psnr"}
    sheet = Image.open(tmp_path / "rt" / "round_trip_sheet.png")
    # 2 val clips -> 4 rows of 32 x 32 frames drawn at 6x (192 // 32), 2 px gaps; 6 frames -> 6 columns
    assert sheet.height == 2 + 4 * (6 * 32 + 2)
    assert sheet.width > 6 * (6 * 32 + 2)
