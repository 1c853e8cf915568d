"""benchmarks/gpu_text_pack.py: the pruned fp16 MiniLM encodes the world's texts exactly as the whole
fp16 model does, and a world with a word the pack dropped is refused before anything is encoded."""

from __future__ import annotations

import json
import shutil

import pytest
import torch

from trackdiffusion.models.text_encoder import MINILM, PromptEncoder, load_text_encoder, resolve_text_encoder_path

from ..conftest import load_benchmark


@pytest.fixture(scope="module")
def packed(tiny_world, tmp_path_factory):
    pack = load_benchmark("gpu_text_pack")
    out = tmp_path_factory.mktemp("pack") / "minilm"
    kept = pack.pack(resolve_text_encoder_path(MINILM), out, tiny_world / "train", preset=0)
    return pack, out, kept


def test_the_pack_keeps_only_the_worlds_word_rows_and_encodes_its_texts_exactly(packed, tiny_world, tmp_path):
    pack, out, kept = packed
    assert json.loads((out / pack.KEPT).read_text()) == kept and 5 < len(kept) < 200
    pack.unpack(out, tmp_path / "enc", tiny_world / "train")
    small, tokenizer = load_text_encoder(tmp_path / "enc")
    table = small.embeddings.word_embeddings.weight
    dropped = torch.ones(table.shape[0], dtype=torch.bool)
    dropped[kept] = False
    assert table[dropped].abs().max() == 0 and (table[kept].abs().sum(dim=1) > 0).all()

    whole, _ = load_text_encoder(MINILM)
    for p in whole.parameters():  # the reference: every weight rounded to fp16, as the pack stores them
        p.data = p.data.half().float()
    texts = sorted(pack.world_texts(tiny_world / "train"))
    assert "" in texts and any(t.startswith("a video of") for t in texts) and len(texts) > 5
    a, b = PromptEncoder(small, tokenizer, cache_size=0), PromptEncoder(whole, tokenizer, cache_size=0)
    assert torch.equal(a.encode(texts), b.encode(texts))
    assert torch.equal(a.embed_categories([t for t in texts if t]), b.embed_categories([t for t in texts if t]))


def test_unpack_refuses_a_world_with_a_word_the_pack_dropped(packed, tiny_world, tmp_path):
    pack, out, _ = packed
    split = tmp_path / "train"
    shutil.copytree(tiny_world / "train", split)
    captions = json.loads((split / "captions.json").read_text())
    first = min(captions)
    captions[first] = "a video of a zebra on a hill"
    (split / "captions.json").write_text(json.dumps(captions))
    with pytest.raises(SystemExit, match="zebra"):
        pack.unpack(out, tmp_path / "enc", split)
    assert not (tmp_path / "enc").exists()
