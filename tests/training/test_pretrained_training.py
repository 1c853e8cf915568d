"""Training from a diffusers-format ModelScope folder: the paper's two stages, then generation, on the CPU."""

from __future__ import annotations

import json

import pytest
import torch
from diffusers import DDIMScheduler
from typer.testing import CliRunner

from trackdiffusion.cli.main import app
from trackdiffusion.pipelines import TrackDiffusionPipeline
from trackdiffusion.training.components import load_prompt_encoder, noise_scheduler
from trackdiffusion.training.config import DataConfig, DiffusionConfig, ModelConfig, TrainConfig, load_config
from trackdiffusion.training.trainer import resolve_mixed_precision

from ..conftest import load_benchmark
from ..tiny_modelscope import write_tiny_text_to_video

TRACK = dict(location_token_dim=16, location_mlp_dim=16, enhancer_dim=16, trajectory_dim=16, identity_bank_size=8)


@pytest.fixture(scope="module")
def modelscope(tmp_path_factory):
    return write_tiny_text_to_video(tmp_path_factory.mktemp("modelscope"))


def _config(world, out, pretrained, **overrides) -> TrainConfig:
    cfg = TrainConfig(output_dir=str(out), max_steps=2, batch_size=1, warmup_steps=0, log_every=1,
                      checkpoint_every=2, ema_decay=0.9,
                      data=DataConfig(path=str(world / "train"), num_frames=3, width=32, height=32),
                      model=ModelConfig(pretrained=str(pretrained), size="tiny", options=dict(TRACK)))
    for key, value in overrides.items():
        setattr(cfg, key, value)
    return cfg.validate()


def test_noise_schedule_and_text_context_come_from_the_base_model(tiny_world, modelscope, tmp_path):
    cfg = _config(tiny_world, tmp_path, modelscope)
    ddim = DDIMScheduler.from_pretrained(modelscope / "scheduler")
    train = noise_scheduler(cfg)
    assert train.config.beta_schedule == "scaled_linear" and train.config.beta_start == 0.00085
    assert torch.equal(train.alphas_cumprod, ddim.alphas_cumprod)
    prompts = load_prompt_encoder(cfg)
    assert prompts.max_length == 77 and not prompts.use_attention_mask and prompts.dim == 32
    # explicit fields override the pretrained scheduler; with neither, the cosine default
    cfg.diffusion = DiffusionConfig(prediction_type="v_prediction", timestep_spacing="trailing")
    assert noise_scheduler(cfg).config.prediction_type == "v_prediction"
    assert noise_scheduler(cfg).config.beta_schedule == "scaled_linear"
    cfg.model.pretrained = None
    assert noise_scheduler(cfg).config.beta_schedule == "squaredcos_cap_v2"
    cfg.diffusion = DiffusionConfig(scheduler=str(tmp_path / "nowhere"))
    with pytest.raises(FileNotFoundError, match="diffusion.scheduler: no scheduler"):
        noise_scheduler(cfg)


def test_config_fields_are_typed_and_mixed_precision_follows_the_launcher(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("data: {path: x}\ndiffusion: {beta_start: fast}\n")
    with pytest.raises(ValueError, match="diffusion.beta_start: expected float or null, got 'fast'"):
        load_config(path)
    path.write_text("data: {path: x}\ndiffusion: {beta_start: 0.00085, beta_schedule: scaled_linear}\n")
    assert load_config(path).diffusion.beta_start == 0.00085
    assert load_config(path).mixed_precision is None
    assert resolve_mixed_precision(None, "bf16") is None  # Accelerator reads the launcher's
    assert resolve_mixed_precision("bf16", "no") == "bf16"  # a launcher's default "no" is no request
    assert resolve_mixed_precision("bf16", "bf16") == "bf16"
    with pytest.raises(ValueError, match="the config says 'no' but the launcher asks for 'bf16'"):
        resolve_mixed_precision("no", "bf16")


@pytest.mark.slow
def test_two_stages_from_a_modelscope_folder_then_generation(tiny_world, modelscope, tmp_path):
    from trackdiffusion.training.trainer import train

    stage1 = train(_config(tiny_world, tmp_path / "image", modelscope, stage="image"), progress=False)
    # stage 2 starts from stage 1's exported pipeline folder: UNet, VAE, CLIP and schedule all inside it
    stage2 = train(_config(tiny_world, tmp_path / "video", stage1, stage="video"), progress=False)
    index = json.loads((stage2 / "model_index.json").read_text())
    assert index["text_encoder"] == ["transformers", "CLIPTextModel"] and index["text_max_length"] == 77
    pipe = TrackDiffusionPipeline.from_pretrained(stage2, torch_dtype=torch.bfloat16, device="cpu")
    assert pipe.scheduler.config.beta_schedule == "scaled_linear"
    base = TrackDiffusionPipeline.from_pretrained(modelscope, track_options=TRACK)
    trained = dict(pipe.unet.named_parameters())
    moved = {n for n, p in base.unet.named_parameters() if not torch.equal(p.to(torch.bfloat16), trained[n])}
    assert any(".fuser." in n for n in moved) and any(".temp_convs." in n for n in moved)  # both stages trained
    result = CliRunner().invoke(app, ["generate", "--tracklets", str(tiny_world / "val"), "--out", str(tmp_path / "gen"),
                                      "--checkpoint", str(stage2), "--steps", "2", "--limit", "2", "--frames", "3",
                                      "--batch-size", "2", "--device", "cpu", "--dtype", "bfloat16", "--quiet"])
    assert result.exit_code == 0, result.output
    assert len(list((tmp_path / "gen" / "clips").iterdir())) == 2


@pytest.mark.parametrize("name", ["modelscope-ytvis", "modelscope-got10k"])
def test_recipe_configs_are_the_papers_two_stages(name):
    from trackdiffusion.assets import ASSETS

    cfg = load_config(ASSETS.parent / "configs" / f"{name}.yaml")
    assert (cfg.stage, cfg.max_steps, cfg.data.num_frames, cfg.data.width, cfg.data.height) == ("image", 60000, 16, 256, 256)
    assert cfg.model.pretrained and cfg.mixed_precision is None and cfg.gradient_checkpointing
    assert cfg.model.text_max_length is None and cfg.diffusion.scheduler is None  # the base model's conventions


def test_memory_estimate_counts_saved_activations(tmp_path):
    module = load_benchmark("memory_estimate")
    plain = module.estimate("tiny", "full", 1, 4, 64, 64, 2, 8, checkpointing=False, text_dim=384)
    ckpt = module.estimate("tiny", "full", 1, 4, 64, 64, 2, 8, checkpointing=True, text_dim=384)
    image = module.estimate("tiny", "image", 1, 4, 64, 64, 2, 8, checkpointing=False, text_dim=384)
    assert plain["parameters"] == plain["trained"] > image["trained"] > 0
    assert plain["activation_bytes"] > ckpt["activation_bytes"] > 0 and plain["activation_bytes"] > image["activation_bytes"]
