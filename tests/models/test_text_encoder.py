"""Offline text encoders: the bundled MiniLM and a local CLIP folder in the Stable Diffusion layout."""

from __future__ import annotations

import json

import pytest
import torch
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

from trackdiffusion.models.text_encoder import PromptEncoder, load_text_encoder


def _tiny_clip_folder(root):
    """A random 2-layer CLIP text model and a hand-made BPE vocabulary, saved as SD does."""
    words = ["a", "video", "of", "circle", "square", "two"]
    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for w in words:
        vocab[f"{w}</w>"] = len(vocab)
    for ch in sorted(set("".join(words))):
        vocab.setdefault(ch, len(vocab))
        vocab.setdefault(f"{ch}</w>", len(vocab))
    (root / "tokenizer").mkdir(parents=True)
    (root / "tokenizer" / "vocab.json").write_text(json.dumps(vocab))
    (root / "tokenizer" / "merges.txt").write_text("#version: 0.2\n")
    tokenizer = CLIPTokenizer(str(root / "tokenizer" / "vocab.json"), str(root / "tokenizer" / "merges.txt"))
    tokenizer.save_pretrained(root / "tokenizer")
    torch.manual_seed(0)
    config = CLIPTextConfig(vocab_size=len(vocab), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                            num_attention_heads=4, max_position_embeddings=77, eos_token_id=1, bos_token_id=0,
                            pad_token_id=1)
    CLIPTextModel(config).save_pretrained(root / "text_encoder")
    return root


def test_bundled_minilm_encodes_prompts_and_categories():
    encoder = PromptEncoder(*load_text_encoder("minilm"), max_length=16)
    tokens = encoder.encode(["a video of two circles", ""])
    assert tokens.shape == (2, 16, 384)
    cats = encoder.embed_categories(["circle", "square", "circle"])
    assert cats.shape == (3, 384)
    torch.testing.assert_close(cats[0], cats[2])
    assert cats.norm(dim=-1).allclose(torch.ones(3))  # sentence-transformers style unit vectors


def test_uncached_encoding_is_one_batched_pass_that_repeats_exactly():
    encoder = PromptEncoder(*load_text_encoder("minilm"), max_length=16, cache_size=0)
    calls = []
    encoder.text_encoder.register_forward_hook(lambda m, args, kwargs_out=None: calls.append(1))
    texts = ["a video of a star", "", "a video of a star", "two squares"]
    first = encoder.encode(texts)
    assert len(calls) == 1 and not encoder._prompts  # one forward pass for the distinct texts, no cache
    assert torch.equal(first, encoder.encode(texts)) and torch.equal(first[0], first[2])
    alone = encoder.encode(["two squares"])[0]
    torch.testing.assert_close(alone, first[3], atol=1e-4, rtol=0)  # equal to the last bits only


def test_cached_encoding_encodes_each_text_alone_so_its_bits_do_not_depend_on_the_batch():
    model, tokenizer = load_text_encoder("minilm")
    batched, alone = PromptEncoder(model, tokenizer, max_length=16), PromptEncoder(model, tokenizer, max_length=16)
    sizes = []
    hook = model.register_forward_hook(lambda m, args, kwargs, out: sizes.append(kwargs["input_ids"].shape[0]),
                                       with_kwargs=True)
    texts = ["a video of a star", "two squares", "a red striped circle", "two squares"]
    tokens, pooled = batched.encode(texts), batched.embed_categories(texts)
    assert sizes == [1] * 6  # three distinct texts, encoded one at a time, for each cache
    hook.remove()
    assert torch.equal(tokens[1], alone.encode(["two squares"])[0])
    assert torch.equal(pooled[2], alone.embed_categories(["a red striped circle"])[0])


def test_cache_keeps_the_most_recently_used_texts_on_the_cpu():
    encoder = PromptEncoder(*load_text_encoder("minilm"), max_length=16, cache_size=2)
    for batch in (["a"], ["b"], ["a"], ["c"]):
        encoder.encode(batch)
    assert list(encoder._prompts) == ["a", "c"]  # "b" was the least recently used
    assert all(v.device.type == "cpu" for v in encoder._prompts.values())
    cats = encoder.embed_categories(["circle", "star", "circle"])
    assert cats.shape == (3, 384) and torch.equal(cats[0], cats[2])


def test_local_clip_folder_in_the_stable_diffusion_layout(tmp_path):
    folder = _tiny_clip_folder(tmp_path / "clip")
    model, tokenizer = load_text_encoder(folder)
    assert isinstance(model, CLIPTextModel) and not any(p.requires_grad for p in model.parameters())
    encoder = PromptEncoder(model, tokenizer)
    assert encoder.encode(["a video of two circle"]).shape == (1, 77, 32)
    pooled = encoder.embed_categories(["circle", "square"])
    assert pooled.shape == (2, 32) and not torch.allclose(pooled[0], pooled[1])


def test_missing_text_encoder_names_the_path_and_the_layout(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"no text encoder at .*nowhere.*text_encoder/ and tokenizer/"):
        load_text_encoder(tmp_path / "nowhere")
