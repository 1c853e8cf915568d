"""Per-instance appearance phrases: the zero-initialised phrase projection of the location tokens,
the pipeline's checks, phrase files, and training a checkpoint that had no phrases with them."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from trackdiffusion.cli.main import app
from trackdiffusion.evaluation.phrase_colours import colour_accuracy, colour_counts, phrase_colour, phrase_variants
from trackdiffusion.evaluation.tracker import GroundingTracker, TrackerConfig
from trackdiffusion.models.location_tokens import InstanceLocationTokens
from trackdiffusion.pipelines import TrackDiffusionPipeline
from trackdiffusion.pipelines.fingerprint import tracklets_hash
from trackdiffusion.tracklets import Clip, Instance, TrackletError
from trackdiffusion.tracklets.loader import ClipDataset, read_clip_frames
from trackdiffusion.tracklets.phrases import PHRASES_FILE, attach_phrases, load_phrases, save_phrases
from trackdiffusion.tracklets.formats import read_tracklets
from trackdiffusion.tracklets.synthetic import WorldConfig, write_world
from trackdiffusion.tracklets.synthetic.appearance import OBJECT_COLOURS
from trackdiffusion.training import trainer
from trackdiffusion.training.components import build_unet
from trackdiffusion.training.stages import trainable_parameters

from .conftest import make_clip, phrased_pipeline, randomise, tiny_pipeline
from ..training.conftest import tiny_config
from ..models.conftest import make_inputs, make_unet


def _phrase_inputs(model, B=2, N=3, seed=0):
    x = make_inputs(B=B, N=N, seed=seed, model=model)
    g = torch.Generator().manual_seed(seed + 1)
    x["phrase_embeds"] = torch.randn(B, N, model.config.category_embed_dim, generator=g)
    x["has_phrase"] = torch.tensor([[True, False, True], [False, True, True]])[:B, :N]
    return x


def test_the_phrase_projection_starts_as_the_identity():
    model = make_unet(appearance_phrases=True)
    x = _phrase_inputs(model)
    without = {k: v for k, v in x.items() if k not in ("phrase_embeds", "has_phrase")}
    with torch.no_grad():
        assert torch.equal(model(**x).sample, model(**without).sample)
        # and equals the model built without the option, parameter for parameter
        plain = make_unet()
        plain.load_state_dict({k: v for k, v in model.state_dict().items() if ".phrase." not in k})
        assert torch.equal(model(**x).sample, plain(**without).sample)


def test_a_phrase_moves_only_the_tokens_of_instances_that_have_one():
    tokens = InstanceLocationTokens(category_dim=6, token_dim=5, hidden_dim=8, use_phrases=True)
    randomise(tokens.phrase)
    g = torch.Generator().manual_seed(2)
    boxes, cats = torch.rand(1, 2, 3, 4, generator=g), torch.randn(1, 3, 6, generator=g)
    phrases, has = torch.randn(1, 3, 6, generator=g), torch.tensor([[True, False, True]])
    base = tokens(boxes, cats, torch.arange(3)[None])
    with_phrase = tokens(boxes, cats, torch.arange(3)[None], phrases, has)
    moved = (with_phrase - base).abs().amax(dim=(0, 1, 3))  # per instance
    assert moved[0] > 0 and moved[2] > 0 and moved[1] == 0  # the bias does not reach instance 1
    expected = tokens.phrase(phrases) * has[..., None]
    assert torch.allclose(with_phrase - base, expected[:, None].expand_as(base), atol=1e-6)


def test_phrases_for_a_model_without_them_are_refused_by_name():
    model = make_unet()
    with pytest.raises(ValueError, match="appearance_phrases=False"):
        model(**_phrase_inputs(model))
    tokens = InstanceLocationTokens(6, 5, 8, use_phrases=True)
    with pytest.raises(ValueError, match="has_phrase"):
        tokens(torch.rand(1, 1, 1, 4), torch.randn(1, 1, 6), torch.zeros(1, 1, dtype=torch.long), torch.randn(1, 1, 6))


def test_the_pipeline_conditions_on_phrases_and_checks_the_model_takes_them(text_encoder):
    clip = make_clip(T=2)
    clip.instances[0].phrase = "red striped circle"
    plain = tiny_pipeline(text_encoder)
    with pytest.raises(ValueError, match=r"instance 7 has the appearance phrase 'red striped circle'.*appearance_phrases=False"):
        plain("two things", clip, num_inference_steps=2)

    pipe = phrased_pipeline(text_encoder)

    def run(c):
        return pipe("two things", c, num_inference_steps=2, generator=torch.Generator().manual_seed(0)).frames

    other = clip.copy()
    other.instances[0].phrase = "blue dotted circle"
    none = clip.copy()
    none.instances[0].phrase = None
    a, b, c = run(clip), run(other), run(none)
    assert not np.array_equal(a, b) and not np.array_equal(a, c)
    assert np.array_equal(a, run(clip))  # reproducible


def test_phrase_files_round_trip_and_name_what_does_not_match(tmp_path, tiny_world):
    dataset = read_tracklets(tiny_world / "train")
    written = load_phrases(tiny_world / "train" / PHRASES_FILE)  # the synthetic world writes them
    clip = dataset.clips[0]
    assert set(written[clip.name]) == {inst.id for inst in clip.instances}
    assert all(len(p.split()) >= 2 for p in written[clip.name].values())  # colour (texture) shape
    attach_phrases(dataset, written)
    save_phrases(dataset, tmp_path / PHRASES_FILE)
    assert load_phrases(tmp_path / PHRASES_FILE) == written

    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({clip.name: {"99": "red star", "x": "red star", "1": ""}, "nope": {"1": "red star"}}))
    with pytest.raises(TrackletError) as err:
        attach_phrases(dataset, load_phrases(bad))  # instance ids and empty phrases are named first
    assert "'x'" in str(err.value) and "non-empty" in str(err.value)
    bad.write_text(json.dumps({clip.name: {"99": "red star"}, "nope": {"1": "red star"}}))
    with pytest.raises(TrackletError) as err:
        attach_phrases(dataset, load_phrases(bad), str(bad))
    assert f"{bad}: clip {clip.name!r}, instance 99" in str(err.value) and "clip 'nope'" in str(err.value)


def test_the_loader_reads_phrases_and_fingerprints_change_with_them(tiny_world):
    clips = ClipDataset.from_dir(tiny_world / "train", num_frames=4, width=32, height=32, window="first")
    item = clips[0]
    inst = clips.clips[0].instances
    assert item["phrases"] == [i.phrase for i in inst if i.present[:4].any()] and all(item["phrases"])
    before = tracklets_hash(clips.clips[0])
    inst[0].phrase = "a different phrase"
    assert tracklets_hash(clips.clips[0]) != before
    inst[0].phrase = None
    for i in inst:
        i.phrase = None
    assert tracklets_hash(clips.clips[0]) == tracklets_hash(read_tracklets(tiny_world / "train").clips[0])


def test_a_checkpoint_without_phrases_trains_with_them(tiny_world, tmp_path):
    first = trainer.train(tiny_config(tiny_world, tmp_path / "plain", max_steps=2, stage="spatial"), progress=False)
    cfg = tiny_config(tiny_world, tmp_path / "phrased", max_steps=2, stage="spatial")
    cfg.model.init_checkpoint = str(first)
    cfg.model.options = {**cfg.model.options, "appearance_phrases": True}
    final = trainer.train(cfg, progress=False)
    unet_config = json.loads((final / "unet" / "config.json").read_text())
    assert unet_config["appearance_phrases"] is True  # recorded in the checkpoint
    pipe = TrackDiffusionPipeline.from_pretrained(final)
    assert pipe.unet.location_tokens.phrase.weight.abs().sum() > 0  # trained from zero
    names = [n for n, _ in trainable_parameters(pipe.unet, "spatial")]
    assert "location_tokens.phrase.weight" in names

    cfg.model.options = {**cfg.model.options, "enhancer_dim": 8}
    with pytest.raises(ValueError, match=r"\['enhancer_dim'\] differ from .*config.json"):
        build_unet(cfg, 384, 3, 1)


def test_generate_uses_the_phrase_file_only_with_a_model_trained_with_phrases(text_encoder, tmp_path):
    world = tmp_path / "world"
    write_world(WorldConfig(train_clips=0, val_clips=2, num_frames=3, width=32, height=32, max_objects=2, seed=4),
                world)
    pipe = tiny_pipeline(text_encoder)
    plain = tmp_path / "plain"
    pipe.save_pretrained(plain)
    fast = ["--steps", "2", "--guidance", "1", "--size", "32x32"]
    runner = CliRunner()
    result = runner.invoke(app, ["generate", "--tracklets", str(world / "val"), "--checkpoint", str(plain),
                                 "--out", str(tmp_path / "a"), *fast])
    assert result.exit_code == 0, result.output
    assert "phrases.json is not used: the checkpoint was trained without appearance phrases" in result.output
    assert load_phrases(tmp_path / "a" / PHRASES_FILE) == {}

    phrased = tmp_path / "phrased"
    phrased_pipeline(text_encoder).save_pretrained(phrased)
    result = runner.invoke(app, ["generate", "--tracklets", str(world / "val"), "--checkpoint", str(phrased),
                                 "--out", str(tmp_path / "b"), *fast])
    assert result.exit_code == 0, result.output
    assert load_phrases(tmp_path / "b" / PHRASES_FILE) == load_phrases(world / "val" / PHRASES_FILE)


def test_generate_limit_keeps_the_phrases_of_the_clips_it_keeps(text_encoder, tmp_path):
    # Bug: --limit cut the clips before phrases.json (naming every clip) was attached, so every
    # phrased clip past the limit was refused as "no such clip".
    world = tmp_path / "world"
    write_world(WorldConfig(train_clips=0, val_clips=3, num_frames=3, width=32, height=32, max_objects=2, seed=4),
                world)
    phrased = tmp_path / "phrased"
    phrased_pipeline(text_encoder).save_pretrained(phrased)
    result = CliRunner().invoke(app, ["generate", "--tracklets", str(world / "val"), "--checkpoint", str(phrased),
                                      "--out", str(tmp_path / "gen"), "--limit", "1", "--steps", "2",
                                      "--guidance", "1", "--size", "32x32"])
    assert result.exit_code == 0, result.output
    first = read_tracklets(world / "val").clips[0].name
    every = load_phrases(world / "val" / PHRASES_FILE)
    assert len(every) == 3
    assert load_phrases(tmp_path / "gen" / PHRASES_FILE) == {first: every[first]}


def test_colour_accuracy_names_the_colour_in_the_middle_of_the_box(tiny_world):
    assert phrase_colour("Red striped star") == "red" and phrase_colour("striped star") is None
    frames = np.full((2, 16, 16, 3), 128, np.uint8)
    frames[0, 4:12, 4:12] = OBJECT_COLOURS["blue"]
    frames[1, 4:12, 4:12] = OBJECT_COLOURS["red"]
    frames[:, 4, 4:12] = 0  # an edge row does not count: only the middle half is measured
    boxes = np.array([[4, 4, 12, 12]] * 2, float)
    clip = Clip("c", 16, 16, 2, {1: "star"}, [Instance(1, 1, boxes, np.ones(2, bool), phrase="blue dotted star")])
    assert colour_counts(frames, clip) == (1, 2)
    clip.instances[0].visibility = np.array([1.0, 0.5])  # an occluded box is not measured
    assert colour_counts(frames, clip) == (1, 1)
    clip.instances[0].phrase = None
    assert colour_counts(frames, clip) == (0, 0)

    real = read_tracklets(tiny_world / "val")
    attach_phrases(real, load_phrases(tiny_world / "val" / PHRASES_FILE))
    score = colour_accuracy((read_clip_frames(c, real.image_root), c) for c in real.clips)
    assert score >= 90  # the world's own frames: the metric's ceiling


def test_evaluate_phrase_colours_compares_with_and_without_phrases(text_encoder, tmp_path):
    # --clips / --frames below the split's: phrases.json names clips and instances the cut leaves out
    torch.manual_seed(0)
    categories = {i + 1: name for i, name in enumerate(WorldConfig().categories)}
    GroundingTracker(TrackerConfig(categories=categories, widths=(4, 8, 8, 12), head_width=8, roi_width=4,
                                   roi_size=8, embed_dim=6)).eval().save_pretrained(tmp_path / "tracker")
    write_world(WorldConfig(train_clips=0, val_clips=2, num_frames=3, width=32, height=32, seed=5), tmp_path / "w")
    phrased = tmp_path / "ckpt"
    phrased_pipeline(text_encoder).save_pretrained(phrased)
    args = ["evaluate", "phrase-colours", "--checkpoint", str(phrased), "--val", str(tmp_path / "w" / "val"),
            "--clips", "1", "--frames", "2", "--sampling-steps", "2", "--tracker", str(tmp_path / "tracker"),
            "--out", str(tmp_path / "out")]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    rows = json.loads((tmp_path / "out" / "phrase_colours.json").read_text())
    assert list(rows) == ["real", "with phrases", "category only"]
    assert rows["real"]["ColourAcc"] >= 90 and rows["with phrases"] != rows["category only"]

    # --only generates one variant, the same clips as with both (same seeds); --box-guidance is used
    def only(*extra: str) -> dict:
        done = CliRunner().invoke(app, [*args[:-1], str(tmp_path / "only"), "--only", "with phrases", *extra])
        assert done.exit_code == 0, done.output
        return json.loads((tmp_path / "only" / "phrase_colours.json").read_text())

    assert only() == {k: rows[k] for k in ("real", "with phrases")}
    assert only("--box-guidance", "20")["with phrases"] != rows["with phrases"]
    assert only("--seed", "1")["with phrases"] != rows["with phrases"]
    bad = CliRunner().invoke(app, [*args, "--only", "phrases"])
    assert bad.exit_code != 0 and "unknown variant 'phrases'" in bad.output


def test_phrase_variants_refuse_what_the_model_cannot_do(text_encoder):
    assert phrase_variants(phrased_pipeline(text_encoder)) == ("with phrases", "category only")
    plain = tiny_pipeline(text_encoder)
    assert phrase_variants(plain) == ("category only",)
    assert phrase_variants(plain, "category only") == ("category only",)
    with pytest.raises(ValueError, match="trained without appearance phrases"):
        phrase_variants(plain, "with phrases")


def test_clips_rendered_in_memory_keep_their_phrases_apart():
    # Regression: phrases on in-memory clips made the shipped (phrase-less) model refuse them.
    from trackdiffusion.tracklets.synthetic import SyntheticWorld

    rendered = SyntheticWorld(WorldConfig(num_frames=2, width=32, height=32, seed=1)).render("val", 0)
    assert all(inst.phrase is None for inst in rendered.clip.instances)
    assert sorted(rendered.phrases) == [inst.id for inst in rendered.clip.instances]
