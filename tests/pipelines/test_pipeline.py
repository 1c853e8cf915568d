"""TrackDiffusionPipeline: determinism, guidance branches, input checks, checkpoints."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from trackdiffusion.pipelines import TrackDiffusionPipeline
from trackdiffusion.pipelines.pipeline_trackdiffusion import rescale_guidance
from trackdiffusion.tracklets import clip_to_tensors

from .conftest import make_clip


def _run(pipe, seed=0, **kw):
    args = dict(num_inference_steps=2, height=32, width=32, generator=torch.Generator().manual_seed(seed))
    return pipe("a video of a circle and a square", make_clip(), **{**args, **kw})


def test_same_seed_same_frames_bitwise(pipe):
    a, b = _run(pipe).frames, _run(pipe).frames
    assert a.shape == (1, 3, 32, 32, 3) and a.dtype == np.uint8
    assert np.array_equal(a, b)
    assert not np.array_equal(a, _run(pipe, seed=1).frames)


def test_outputs_tracklets_at_the_output_size(pipe):
    out = _run(pipe)
    clip = out.tracklets[0]
    assert (clip.width, clip.height, clip.num_frames) == (32, 32, 3)
    source = make_clip()
    np.testing.assert_allclose(clip.instance(7).boxes[0], source.instance(7).boxes[0] * np.array([32 / 64, 32 / 48] * 2))
    assert not clip.instance(9).present[1]


def test_guidance_modes_run_their_branches(pipe, monkeypatch):
    seen = []
    forward = pipe.unet.forward
    monkeypatch.setattr(pipe.unet, "forward", lambda *a, **k: seen.append(a[0].shape[0]) or forward(*a, **k))
    _run(pipe, guidance_scale=1.0)
    _run(pipe, guidance_scale=5.0)
    _run(pipe, guidance_scale=3.0, box_guidance_scale=2.0)
    assert seen == [1, 1, 2, 2, 3, 3]


def test_rescale_guidance_matches_the_conditional_std_per_clip():
    g = torch.Generator().manual_seed(0)
    guided = torch.randn(2, 4, 3, 5, 5, generator=g) * torch.tensor([3.0, 0.5]).view(2, 1, 1, 1, 1)
    conditional = torch.randn(2, 4, 3, 5, 5, generator=g)
    full = rescale_guidance(guided, conditional, 1.0)
    np.testing.assert_allclose(full.std(dim=(1, 2, 3, 4)), conditional.std(dim=(1, 2, 3, 4)), rtol=1e-5)
    assert torch.equal(rescale_guidance(guided, conditional, 0.0), guided)
    torch.testing.assert_close(rescale_guidance(guided, conditional, 0.25), 0.25 * full + 0.75 * guided)
    half = rescale_guidance(guided.half(), conditional.half(), 1.0)
    assert half.dtype == torch.float16 and torch.isfinite(half).all()


def test_guidance_rescale_acts_only_on_a_guided_prediction(pipe):
    plain = _run(pipe, guidance_scale=5.0).frames
    assert not np.array_equal(plain, _run(pipe, guidance_scale=5.0, guidance_rescale=1.0).frames)
    assert not np.array_equal(plain, _run(pipe, guidance_scale=3.0, box_guidance_scale=2.0,
                                          guidance_rescale=1.0).frames)
    # without guidance there is one branch and nothing to rescale
    unguided = _run(pipe, guidance_scale=1.0).frames
    assert np.array_equal(unguided, _run(pipe, guidance_scale=1.0, guidance_rescale=1.0).frames)


def test_pt_output_and_tensor_tracklets(pipe):
    t = clip_to_tensors(make_clip())
    out = pipe("x", t, category_names={1: "circle", 2: "square"}, num_inference_steps=2, height=32, width=32,
               output_type="pt", generator=torch.Generator().manual_seed(0))
    assert out.frames.shape == (1, 3, 3, 32, 32) and out.frames.abs().max() <= 1


@pytest.mark.parametrize("kwargs,match", [
    (dict(height=30, width=32), "divisible by 4"),
    (dict(num_frames=5), "num_frames=5 but the tracklets have 3"),
    (dict(prompt=["a", "b"]), "2 prompt"),
    (dict(output_type="pil"), "output_type"),
    (dict(guidance_scale=-1.0), "guidance_scale"),
    (dict(box_guidance_scale=-0.5), "box_guidance_scale must be >= 0.*got -0.5"),
    (dict(guidance_rescale=1.5), r"guidance_rescale must lie in \[0, 1\].*got 1.5"),
])
def test_check_inputs_name_the_problem(pipe, kwargs, match):
    prompt = kwargs.pop("prompt", "x")
    with pytest.raises(ValueError, match=match):
        pipe(prompt, make_clip(), **{**dict(num_inference_steps=1, height=32, width=32), **kwargs})


def test_bad_tracklet_tensors_are_named(pipe):
    t = clip_to_tensors(make_clip())
    names = {1: "circle", 2: "square"}
    bad = clip_to_tensors(make_clip())
    bad.boxes[0, 0, 2] = 1.5
    with pytest.raises(ValueError, match=r"lie in \[0, 1\]"):
        pipe("x", bad, category_names=names, num_inference_steps=1, height=32, width=32)
    with pytest.raises(ValueError, match="unknown category id 2"):
        pipe("x", t, category_names={1: "circle"}, num_inference_steps=1, height=32, width=32)
    with pytest.raises(ValueError, match="category_names"):
        pipe("x", t, num_inference_steps=1, height=32, width=32)


def test_checkpoint_round_trip_gives_the_same_video(pipe, tmp_path):
    pipe.save_pretrained(tmp_path / "ckpt")
    loaded = TrackDiffusionPipeline.from_pretrained(tmp_path / "ckpt")
    loaded.set_progress_bar_config(disable=True)
    assert np.array_equal(_run(pipe).frames, _run(loaded).frames)


def test_a_checkpoint_with_an_asymmetric_vae_saves_loads_and_decodes(pipe, tmp_path):
    from diffusers import AsymmetricAutoencoderKL

    torch.manual_seed(1)
    vae = AsymmetricAutoencoderKL(down_block_types=("DownEncoderBlock2D",) * 2, down_block_out_channels=(8, 8),
                                  up_block_types=("UpDecoderBlock2D",) * 2, up_block_out_channels=(8, 16),
                                  layers_per_up_block=2, latent_channels=4, norm_num_groups=4).eval()
    vae.encoder.load_state_dict(pipe.vae.encoder.state_dict())
    asym = TrackDiffusionPipeline(vae, pipe.text_encoder, pipe.tokenizer, pipe.unet, pipe.scheduler, text_max_length=8)
    asym.set_progress_bar_config(disable=True)
    asym.save_pretrained(tmp_path / "ckpt")
    loaded = TrackDiffusionPipeline.from_pretrained(tmp_path / "ckpt")
    loaded.set_progress_bar_config(disable=True)
    assert isinstance(loaded.vae, AsymmetricAutoencoderKL)
    frames = _run(loaded).frames
    assert np.array_equal(_run(asym).frames, frames) and not np.array_equal(_run(pipe).frames, frames)


def test_fp16_checkpoint_is_half_the_size_and_loads_as_float32(pipe, tmp_path):
    pipe.save_pretrained(tmp_path / "full")
    pipe.save_pretrained(tmp_path / "half", dtype=torch.float16)
    for part in ("unet", "text_encoder"):
        size = lambda d: sum(f.stat().st_size for f in (tmp_path / d / part).glob("*.safetensors"))  # noqa: E731
        assert size("half") < 0.6 * size("full")
    loaded = TrackDiffusionPipeline.from_pretrained(tmp_path / "half")
    assert loaded.unet.dtype == torch.float32 and loaded.text_encoder.dtype == torch.float32
    assert next(pipe.unet.parameters()).dtype == torch.float32  # saving a half copy leaves the model alone


def test_missing_checkpoint_says_what_is_expected(tmp_path):
    with pytest.raises(FileNotFoundError, match="model_index.json is missing"):
        TrackDiffusionPipeline.from_pretrained(tmp_path)


def test_vae_decodes_in_chunks_with_the_same_frames(pipe, monkeypatch):
    latents = torch.randn(2, pipe.vae.config.latent_channels, 5, 4, 4, generator=torch.Generator().manual_seed(0))
    calls = []
    decode = pipe.vae.decode
    monkeypatch.setattr(pipe.vae, "decode", lambda x, **k: calls.append(x.shape[0]) or decode(x, **k))
    whole = pipe.decode_latents(latents, chunk=16)  # B*T = 10 frames: one call
    parts = pipe.decode_latents(latents, chunk=3)  # peak memory of 3 frames: 4 calls
    assert calls == [10, 3, 3, 3, 1]
    assert whole.shape == (2, 5, 3, 8, 8) and torch.allclose(whole, parts, atol=1e-6)
