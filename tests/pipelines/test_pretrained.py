"""Pipeline folders: ModelScope's text-to-video layout in, standard diffusers folders out, old checkpoints."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from diffusers import DDIMScheduler, DiffusionPipeline, DPMSolverMultistepScheduler, TextToVideoSDPipeline
from typer.testing import CliRunner

from trackdiffusion.assets import DEFAULT_CHECKPOINT
from trackdiffusion.cli.main import app
from trackdiffusion.pipelines import TrackDiffusionPipeline

from ..conftest import DEVICES
from ..tiny_modelscope import TEXT_DIM, write_tiny_text_to_video
from .conftest import make_clip

TRACK = dict(location_mlp_dim=16, enhancer_dim=16, trajectory_dim=16, identity_bank_size=8)


@pytest.fixture(scope="module")
def modelscope(tmp_path_factory):
    return write_tiny_text_to_video(tmp_path_factory.mktemp("modelscope"))


def _frames(pipe, seed=0, **kw):
    pipe.set_progress_bar_config(disable=True)
    return pipe("a red circle on a grey background", make_clip(T=3), num_inference_steps=3, height=16, width=16,
                guidance_scale=5.0, generator=torch.Generator().manual_seed(seed), output_type="pt", **kw).frames


def test_text_to_video_folder_loads_as_the_base_model_plus_identity_tracklet_modules(modelscope):
    pipe = TrackDiffusionPipeline.from_pretrained(modelscope, track_options=TRACK)
    assert pipe.unet.config.category_embed_dim == TEXT_DIM and pipe.unet.config.identity_bank_size == 8
    # the base model's conventions: 77 CLIP tokens without an attention mask, its noise schedule
    assert pipe.prompt_encoder.max_length == 77 and not pipe.prompt_encoder.use_attention_mask
    ddim = DDIMScheduler.from_pretrained(modelscope / "scheduler")
    assert isinstance(pipe.scheduler, DPMSolverMultistepScheduler)
    assert pipe.scheduler.config.beta_schedule == "scaled_linear"
    torch.testing.assert_close(pipe.scheduler.betas, ddim.betas, rtol=0, atol=0)
    # with its gates at their initial value, the pipeline is diffusers' text-to-video pipeline
    base = TextToVideoSDPipeline.from_pretrained(modelscope)
    base.scheduler = DPMSolverMultistepScheduler.from_config(pipe.scheduler.config)
    base.set_progress_bar_config(disable=True)
    ref = base("a red circle on a grey background", num_frames=3, height=16, width=16, num_inference_steps=3,
               guidance_scale=5.0, generator=torch.Generator().manual_seed(0), output_type="pt").frames
    ours = _frames(pipe)
    assert ours.shape == ref.shape == (1, 3, 3, 16, 16)
    assert (ours * 0.5 + 0.5 - ref).abs().max() <= 1e-5


def test_save_pretrained_writes_a_diffusers_folder_that_both_loaders_read(modelscope, tmp_path):
    pipe = TrackDiffusionPipeline.from_pretrained(modelscope, track_options=TRACK)
    with torch.no_grad():  # a trained model: open gates, so the tracklet modules matter
        for name, p in pipe.unet.named_parameters():
            if name.endswith(("alpha_attn", "alpha_dense", "gamma_attn", "gamma_dense")):
                p.fill_(0.5)
    pipe.save_pretrained(tmp_path / "ours")
    index = json.loads((tmp_path / "ours" / "model_index.json").read_text())
    assert index["_class_name"] == ["pipeline_trackdiffusion", "TrackDiffusionPipeline"]
    assert index["unet"] == ["trackdiffusion.models.unet", "TrackDiffusionUNet"]
    assert index["text_encoder"] == ["transformers", "CLIPTextModel"] and index["text_max_length"] == 77
    for part in ("unet", "vae", "text_encoder", "tokenizer", "scheduler"):
        assert (tmp_path / "ours" / part).is_dir()
    expected = _frames(pipe)
    ours = TrackDiffusionPipeline.from_pretrained(tmp_path / "ours")
    assert torch.equal(_frames(ours), expected)
    generic = DiffusionPipeline.from_pretrained(tmp_path / "ours", trust_remote_code=True)
    assert type(generic) is TrackDiffusionPipeline
    assert torch.equal(_frames(generic), expected)
    with pytest.raises(ValueError, match="track_options apply to text-to-video base models only"):
        TrackDiffusionPipeline.from_pretrained(tmp_path / "ours", track_options=TRACK)


def test_a_ddim_swapped_in_the_diffusers_way_does_not_clip_latents(modelscope, tmp_path):
    # Regression: DDIMScheduler.from_config(pipe.scheduler.config) took diffusers' default
    # clip_sample=True and clipped the latents' x0 to [-1, 1] (TrackAP 0.06 instead of 59.5).
    pipe = TrackDiffusionPipeline.from_pretrained(modelscope, track_options=TRACK)
    pipe.save_pretrained(tmp_path / "new")
    saved = tmp_path / "new" / "scheduler" / "scheduler_config.json"
    assert json.loads(saved.read_text())["clip_sample"] is False
    old = json.loads(saved.read_text())
    del old["clip_sample"]                      # a checkpoint exported before the key was written
    saved.write_text(json.dumps(old))
    for loaded in (pipe, TrackDiffusionPipeline.from_pretrained(tmp_path / "new")):
        assert DDIMScheduler.from_config(loaded.scheduler.config).config.clip_sample is False


@pytest.mark.parametrize("device", DEVICES)
def test_dtype_and_device_on_load_and_with_to(modelscope, device):
    pipe = TrackDiffusionPipeline.from_pretrained(modelscope, torch_dtype=torch.bfloat16, device=device,
                                                  track_options=TRACK)
    assert pipe.unet.device.type == device
    for module in (pipe.unet, pipe.vae, pipe.text_encoder):
        assert {p.dtype for p in module.parameters()} == {torch.bfloat16}
    frames = _frames(pipe)
    assert frames.dtype == torch.float32 and torch.isfinite(frames).all()
    pipe.to(device, torch.float32)
    assert pipe.unet.dtype == pipe.text_encoder.dtype == torch.float32
    reference = _frames(TrackDiffusionPipeline.from_pretrained(modelscope, track_options=TRACK))
    # bf16 weights rounded once, float32 arithmetic after: close to the float32 model
    assert (_frames(pipe).cpu() - reference).abs().mean() <= 0.05


@pytest.mark.parametrize("device", DEVICES)
def test_generate_cli_from_a_text_to_video_folder_in_bf16_batched(modelscope, tiny_world, tmp_path, device):
    out = tmp_path / "gen"
    result = CliRunner().invoke(app, ["generate", "--tracklets", str(tiny_world / "val"), "--out", str(out),
                                      "--checkpoint", str(modelscope), "--steps", "2", "--frames", "3",
                                      "--size", "16x16", "--batch-size", "2", "--device", device,
                                      "--dtype", "bfloat16", "--quiet"])
    assert result.exit_code == 0, result.output
    records = [json.loads((c / "record.json").read_text()) for c in sorted((out / "clips").iterdir())]
    assert len(records) == 2
    assert {r["fingerprint"]["dtype"] for r in records} == {"bfloat16"}
    # the record names the card it ran on: "cuda" runs on the current one, recorded as "cuda:0"
    assert {(torch.device(r["device"]).type, r["batch_size"]) for r in records} == {(device, 2)}


def test_old_checkpoint_loads_and_converts_in_one_command(tmp_path):
    old = TrackDiffusionPipeline.from_pretrained(DEFAULT_CHECKPOINT)
    assert old.prompt_encoder.max_length == 40 and old.vae is not None
    assert DDIMScheduler.from_config(old.scheduler.config).config.clip_sample is False  # see the DDIM test
    for args in ([], ["--fp16"]):
        result = CliRunner().invoke(app, ["convert-checkpoint", str(DEFAULT_CHECKPOINT), str(tmp_path / f"new{args}"), *args])
        assert result.exit_code == 0, result.output
        new = TrackDiffusionPipeline.from_pretrained(tmp_path / f"new{args}")
        assert new.prompt_encoder.max_length == 40
        for a, b in zip(old.unet.state_dict().values(), new.unet.state_dict().values()):
            assert torch.equal(a, b)  # the shipped weights are fp16 already: exact either way
    clip = make_clip(T=2)
    kw = dict(num_inference_steps=2, height=64, width=64, output_type="np")
    new = TrackDiffusionPipeline.from_pretrained(tmp_path / "new[]")  # float32 text encoder, as the bundled one
    for p in (old, new):
        p.set_progress_bar_config(disable=True)
    assert np.array_equal(old("a video", clip, generator=torch.Generator().manual_seed(0), **kw).frames,
                          new("a video", clip, generator=torch.Generator().manual_seed(0), **kw).frames)


def test_a_folder_of_another_pipeline_is_named(tmp_path):
    (tmp_path / "model_index.json").write_text(json.dumps({"_class_name": "StableDiffusionPipeline"}))
    with pytest.raises(ValueError, match="StableDiffusionPipeline"):
        TrackDiffusionPipeline.from_pretrained(tmp_path)


def test_the_factor2_checkpoint_samples_in_its_own_latent_space():
    pipe = TrackDiffusionPipeline.from_pretrained(DEFAULT_CHECKPOINT.parent / "tiny-synthetic-factor2")
    assert pipe.unet.config.patch_size == 2 and pipe.unet.config.in_channels == pipe.vae.config.latent_channels == 4
    assert pipe.prompt_encoder.max_length == 40 and 2 ** (len(pipe.vae.config.block_out_channels) - 1) == 2
    pipe.set_progress_bar_config(disable=True)
    frames = pipe("a video of a red circle and a blue square on a grey background", make_clip(T=2, height=64),
                  num_inference_steps=4, height=64, width=64, guidance_scale=3.0, output_type="np",
                  generator=torch.Generator().manual_seed(0)).frames
    assert frames.shape == (1, 2, 64, 64, 3) and np.isfinite(frames).all() and frames.std() > 0.01


def test_a_checkpoint_without_its_unet_is_named_not_taken_for_a_hub_id(tmp_path):
    import shutil

    shutil.copytree(DEFAULT_CHECKPOINT, tmp_path / "ckpt", ignore=shutil.ignore_patterns("unet"))
    with pytest.raises(FileNotFoundError, match=r"ckpt: a pipeline folder needs unet/config.json"):
        TrackDiffusionPipeline.from_pretrained(tmp_path / "ckpt")
