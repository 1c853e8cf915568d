"""The text encoder for benchmarks/gpu_train.sh, packed small enough to travel in one device call.

A device call carries at most 64 MiB with the tree. The bundled MiniLM in fp16 and xz is 41 MB, and
half of it is the word-embedding table (30 522 rows), of which the synthetic world's captions,
category names and phrases use 51 (the seed-0 world, special tokens included). ``pack`` keeps those rows,
zeroes the rest (xz then stores them in almost nothing) and writes the kept ids beside the weights;
``unpack``, on the device machine, first checks that every text of the world rendered there uses
only kept tokens, so a text is never encoded with a zeroed row. A text made of kept tokens encodes
exactly as with the whole fp16 model: the rows it looks up are the same.

    python benchmarks/gpu_text_pack.py pack PACK_DIR WORLD_SPLIT          (here, in `prepare`)
    python benchmarks/gpu_text_pack.py unpack PACK_DIR OUT_DIR WORLD_SPLIT (there)

The world is rendered from a seed, so the split given here and the one rendered there hold the same
texts when both come from the same `synth` command.
"""

from __future__ import annotations

import json
import lzma
import shutil
import sys
from pathlib import Path

WEIGHTS, KEPT = "model.safetensors", "kept_tokens.json"
TABLE = "embeddings.word_embeddings.weight"


def world_texts(split_dir: Path) -> set[str]:
    """Every text training on this split encodes: captions, category names, phrases, and "" (dropout)."""
    from trackdiffusion.tracklets.captions import caption_for, normalize_category
    from trackdiffusion.tracklets.loader import CAPTIONS_FILE, ClipDataset

    split = ClipDataset.from_dir(split_dir, num_frames=1)  # the loader training uses: captions, phrases
    captions = split.captions or {}
    # A clip without a caption gets a template caption per training window (counts, plurals): not
    # enumerated here, so such a split is refused rather than packed with tokens missing.
    bare = [c.name for c in split.clips if c.name not in captions and not c.caption]
    if bare:
        raise SystemExit(f"{split_dir}: {len(bare)} clip(s) without a caption (first: {bare[0]!r}); "
                         f"give every clip one in {CAPTIONS_FILE}")
    texts = {""}
    for clip in split.clips:
        texts.add(caption_for(clip, captions))
        texts.update(n for name in clip.categories.values() for n in (name, normalize_category(name)))
        texts.update(inst.phrase for inst in clip.instances if inst.phrase)
    return texts


def token_ids(tokenizer, texts: set[str]) -> set[int]:
    ids = set(tokenizer.all_special_ids)
    for row in tokenizer(sorted(texts), truncation=True, max_length=512)["input_ids"]:
        ids.update(row)
    return ids


def pack(src: Path, out: Path, split_dir: Path, preset: int = 6) -> list[int]:
    """fp16 MiniLM from ``src`` into ``out`` with only the rows ``split_dir``'s texts use; the kept ids."""
    import torch
    from safetensors.torch import load_file, save_file
    from transformers import AutoTokenizer

    out.mkdir(parents=True)
    for f in src.iterdir():  # config and tokenizer files; the weights are written below
        if f.is_file() and f.suffix in (".json", ".txt"):
            shutil.copy(f, out / f.name)
    kept = sorted(token_ids(AutoTokenizer.from_pretrained(src, local_files_only=True), world_texts(split_dir)))
    weights = {k: v.to(torch.float16) if v.is_floating_point() else v for k, v in load_file(src / WEIGHTS).items()}
    table = torch.zeros_like(weights[TABLE])
    table[kept] = weights[TABLE][kept]
    weights[TABLE] = table
    save_file(weights, out / WEIGHTS)
    (out / (WEIGHTS + ".xz")).write_bytes(lzma.compress((out / WEIGHTS).read_bytes(), preset=preset))
    (out / WEIGHTS).unlink()
    (out / KEPT).write_text(json.dumps(kept))
    return kept


def unpack(pack_dir: Path, out: Path, split_dir: Path) -> None:
    """The packed encoder into ``out``, after checking ``split_dir``'s texts need no zeroed row."""
    from transformers import AutoTokenizer

    kept = set(json.loads((pack_dir / KEPT).read_text()))
    tokenizer = AutoTokenizer.from_pretrained(pack_dir, local_files_only=True)
    texts = world_texts(split_dir)
    missing = token_ids(tokenizer, texts) - kept
    if missing:
        words = tokenizer.convert_ids_to_tokens(sorted(missing))
        example = next(t for t in sorted(texts) if set(tokenizer(t)["input_ids"]) & missing)
        raise SystemExit(f"{split_dir}: {len(missing)} token(s) the pack {pack_dir} zeroed: {words[:10]} "
                         f"(e.g. in {example!r}); run `gpu_train.sh prepare` with the same world settings")
    shutil.copytree(pack_dir, out, ignore=shutil.ignore_patterns("*.xz", KEPT))
    (out / WEIGHTS).write_bytes(lzma.decompress((pack_dir / (WEIGHTS + ".xz")).read_bytes()))


if __name__ == "__main__":
    command, *paths = sys.argv[1:]
    if command == "pack" and len(paths) == 2:
        from trackdiffusion.models.text_encoder import MINILM, resolve_text_encoder_path

        ids = pack(resolve_text_encoder_path(MINILM), Path(paths[0]), Path(paths[1]))
        print(f"packed MiniLM with {len(ids)} of its word rows into {paths[0]}")
    elif command == "unpack" and len(paths) == 3:
        unpack(*map(Path, paths))
    else:
        raise SystemExit(__doc__)
