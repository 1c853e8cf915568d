"""A tiny random diffusers text-to-video folder in ModelScope's layout, written by the tests.

``unet/`` (UNet3DConditionModel), ``vae/`` (AutoencoderKL), ``text_encoder/`` (CLIPTextModel),
``tokenizer/`` (a CLIP BPE tokenizer whose vocabulary and merges are written here),
``scheduler/`` (DDIM with ModelScope's scaled-linear betas) and ``model_index.json``, saved by
diffusers' ``TextToVideoSDPipeline.save_pretrained``. 16 x 16 frames -> 8 x 8 latents.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import torch
from diffusers import AutoencoderKL, DDIMScheduler, TextToVideoSDPipeline, UNet3DConditionModel
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

TEXT_DIM = 32
WORDS = ("a", "video", "of", "red", "blue", "circle", "square", "star", "on", "grey", "background", "and")


def byte_symbols() -> list[str]:
    """The 256 printable symbols byte-level BPE uses for the bytes 0-255 (GPT-2 / CLIP convention:
    printable Latin-1 bytes stand for themselves, the others are shifted past 255)."""
    keep = [*range(ord("!"), ord("~") + 1), *range(0xA1, 0xAD), *range(0xAE, 0x100)]
    shifted = iter(range(256, 512))
    return [chr(b) if b in keep else chr(next(shifted)) for b in range(256)]


def write_clip_tokenizer(folder: Path) -> CLIPTokenizer:
    """A byte-level BPE vocabulary: every byte, the words above as merges, CLIP's special tokens."""
    folder.mkdir(parents=True, exist_ok=True)
    chars = byte_symbols()
    vocab = chars + [c + "</w>" for c in chars]
    merges = []
    for word in WORDS:  # merge left to right: "c i" -> "ci", "ci r" -> "cir", ... ending in "</w>"
        pieces = list(word[:-1]) + [word[-1] + "</w>"]
        while len(pieces) > 1:
            merges.append(f"{pieces[0]} {pieces[1]}")
            pieces = [pieces[0] + pieces[1]] + pieces[2:]
            if pieces[0] not in vocab:
                vocab.append(pieces[0])
    vocab += ["<|startoftext|>", "<|endoftext|>"]
    (folder / "vocab.json").write_text(json.dumps({t: i for i, t in enumerate(vocab)}))
    (folder / "merges.txt").write_text("#version: 0.2\n" + "\n".join(dict.fromkeys(merges)) + "\n")
    return CLIPTokenizer(str(folder / "vocab.json"), str(folder / "merges.txt"), model_max_length=77,
                         pad_token="<|endoftext|>")


def write_tiny_text_to_video(path: Path, seed: int = 0) -> Path:
    """Write the folder (about 1 MB) and return it."""
    torch.manual_seed(seed)
    with tempfile.TemporaryDirectory() as vocab:
        tokenizer = write_clip_tokenizer(Path(vocab))
    text_encoder = CLIPTextModel(CLIPTextConfig(
        vocab_size=len(tokenizer), hidden_size=TEXT_DIM, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=4, max_position_embeddings=77, projection_dim=TEXT_DIM,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id))
    unet = UNet3DConditionModel(
        sample_size=8, block_out_channels=(16, 32), down_block_types=("CrossAttnDownBlock3D", "DownBlock3D"),
        up_block_types=("UpBlock3D", "CrossAttnUpBlock3D"), layers_per_block=1, attention_head_dim=8,
        norm_num_groups=8, cross_attention_dim=TEXT_DIM)
    with torch.no_grad():  # ModelScope zero-initialises its last temporal convs; trained ones are not
        for p in unet.parameters():
            p.add_(torch.randn_like(p) * 0.02)
    vae = AutoencoderKL(block_out_channels=(8, 8), down_block_types=("DownEncoderBlock2D",) * 2,
                        up_block_types=("UpDecoderBlock2D",) * 2, latent_channels=4, norm_num_groups=4,
                        layers_per_block=1, sample_size=16)
    scheduler = DDIMScheduler(beta_schedule="scaled_linear", beta_start=0.00085, beta_end=0.012,
                              clip_sample=False, set_alpha_to_one=False, steps_offset=1)
    pipe = TextToVideoSDPipeline(vae=vae.eval(), text_encoder=text_encoder.eval(), tokenizer=tokenizer,
                                 unet=unet.eval(), scheduler=scheduler)
    pipe.save_pretrained(path)
    return path
