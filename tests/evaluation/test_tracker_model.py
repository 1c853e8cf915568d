"""The grounding tracker's network, files, targets/decoding, and a tiny end-to-end training run."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from trackdiffusion.evaluation.trackap import track_ap
from trackdiffusion.evaluation.tracker import GroundingTracker, TrackerConfig, TrackerOutput, decode_boxes
from trackdiffusion.evaluation.tracker.inference import track_dataset
from trackdiffusion.evaluation.tracker.targets import FrameTargets, LossWeights, dense_targets, tracker_loss
from trackdiffusion.evaluation.tracker.train import TrackerTrainConfig, train_tracker
from trackdiffusion.tracklets.formats import read_tracklets
from trackdiffusion.tracklets.synthetic import WorldConfig, write_world

CATS = {1: "circle", 2: "square", 3: "star"}


def _small(**kwargs) -> TrackerConfig:
    return TrackerConfig(categories=CATS, widths=(4, 8, 8, 12), head_width=8, roi_width=4, roi_size=8, embed_dim=6,
                         **kwargs)


def test_forward_shapes_and_ranges():
    torch.manual_seed(0)
    model = GroundingTracker(_small(input_size=48)).eval()
    frames = torch.rand(2, 3, 48, 48) * 2 - 1
    out = model(frames)
    assert out.heat.shape == (2, 1, 24, 24) and out.ltrb.shape == (2, 4, 24, 24) and out.features.shape == (2, 12)
    assert out.class_logits is None and bool((out.ltrb > 0).all())
    rois = torch.tensor([[0, 5.0, 5.0, 20.0, 30.0], [1, 0.0, 10.0, 48.0, 12.0], [1, 40.0, 40.0, 47.0, 47.0]])
    out = model(frames, rois)
    assert out.class_logits.shape == (3, 3) and out.embeddings.shape == (3, 6)
    torch.testing.assert_close(out.embeddings.norm(dim=1), torch.ones(3))
    logits, _ = model.identify(frames, rois[:1])
    torch.testing.assert_close(logits, out.class_logits[:1])  # one crop does not depend on the others


def test_save_load_round_trip_in_fp16(tmp_path):
    torch.manual_seed(0)
    model = GroundingTracker(_small()).eval()
    x = torch.rand(1, 3, 64, 64) * 2 - 1
    rois = torch.tensor([[0, 10.0, 12.0, 30.0, 40.0]])
    model.save_pretrained(tmp_path)
    loaded = GroundingTracker.from_pretrained(tmp_path)
    assert loaded.config == model.config and loaded.config.categories == CATS
    assert not loaded.training and next(loaded.parameters()).dtype == torch.float32
    a, b = model(x, rois), loaded(x, rois)
    for name in ("heat", "ltrb", "class_logits", "embeddings"):
        torch.testing.assert_close(getattr(b, name), getattr(a, name), atol=2e-2, rtol=1e-2)
    doc = json.loads((tmp_path / "config.json").read_text())
    doc["association"]["bogus"] = 1
    (tmp_path / "config.json").write_text(json.dumps(doc))
    with pytest.raises(ValueError, match="bogus"):
        GroundingTracker.from_pretrained(tmp_path)


def test_invalid_config_lists_problems():
    with pytest.raises(ValueError, match="input_size.*embed_dim"):
        TrackerConfig(categories=CATS, input_size=20, embed_dim=0)


def _targets() -> FrameTargets:
    boxes = torch.tensor([[[10.0, 12.0, 30.0, 26.0], [36.0, 34.5, 57.0, 60.0], [0.0, 0.0, 5.0, 5.0]]])
    return FrameTargets(boxes=boxes, rois=boxes + 0.5, present=torch.tensor([[True, True, True]]),
                        visibility=torch.tensor([[1.0, 0.6, 0.05]]), classes=torch.tensor([[0, 2, 1]]),
                        labels=torch.tensor([[0, 1, 2]]))


def test_dense_targets_mark_centres_and_ignore_hidden_objects():
    t = _targets()
    dense = dense_targets(t, size=32, stride=2, min_visibility=0.25)
    assert dense.heat[0, 0, 9, 10] == 1.0 and dense.heat[0, 0, 23, 23] == 1.0  # centres (20, 19), (46.5, 47.25)
    assert int(dense.heat.eq(1).sum()) == 2
    assert dense.positive.tolist() == [[True, True, False]]
    assert dense.heat[0, 0, 1, 1] < 1e-3  # the barely visible object is no positive ...
    assert dense.heat_weight[0, 0, 1, 1] == 0 and dense.heat_weight[0, 0, 16, 16] == 1  # ... nor a negative
    torch.testing.assert_close(dense.boxes[0, :, 9, 10], t.boxes[0, 0])
    assert dense.box_weight[0, 9, 10] == 1.0 and dense.box_weight[0, 0, 31] == 0.0


def test_ideal_outputs_decode_to_the_exact_boxes():
    """Outputs built from the targets (heatmap logits, exact edge distances) decode back to the
    target boxes, with sub-cell precision."""
    t = _targets()
    config = _small()
    dense = dense_targets(t, 32, 2, 0.25)
    centres = (torch.arange(32) + 0.5) * 2
    box = dense.boxes[0]  # [4, h, w]
    ltrb = torch.stack([centres.view(1, 32) - box[0], centres.view(32, 1) - box[1],
                        box[2] - centres.view(1, 32), box[3] - centres.view(32, 1)])
    out = TrackerOutput(heat=torch.logit(dense.heat.clamp(1e-4, 1 - 1e-4)), ltrb=ltrb[None].clamp(min=1e-3),
                        features=torch.zeros(1, 12))
    boxes, scores = decode_boxes(out, config, threshold=0.3)[0]
    np.testing.assert_allclose(boxes[np.argsort(boxes[:, 0])], t.boxes[0, :2].numpy(), atol=1e-4)
    np.testing.assert_allclose(scores, 1 - 1e-4, atol=1e-6)


def test_loss_decreases_on_one_batch():
    torch.manual_seed(0)
    model = GroundingTracker(_small())
    t = _targets()
    t = FrameTargets(**{k: v.repeat(2, 1, *([1] * (v.dim() - 2))) for k, v in vars(t).items()})
    x = torch.rand(2, 3, 64, 64) * 2 - 1
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(15):
        loss, parts = tracker_loss(model, x, t, 2, 0.25, LossWeights())
        assert set(parts) == {"heat", "box", "classes", "embedding"}
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.7 * losses[0]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("world")
    write_world(WorldConfig(train_clips=3, val_clips=2, num_frames=6, seed=2), root, workers=1)
    return root


def test_tiny_training_run_resumes_and_tracks(world, tmp_path):
    cfg = TrackerTrainConfig(data=str(world / "train"), val_data=str(world / "val"), output_dir=str(tmp_path),
                             max_steps=2, clips_per_batch=2, frames_per_clip=2, checkpoint_every=2, log_every=1)
    final = train_tracker(cfg, progress=False)
    report = json.loads((tmp_path / "report.json").read_text())
    assert {"AP", "AP50", "AP75", "success", "norm_precision"} <= set(report) and report["train_clips"] == 3
    assert (final / "model.safetensors").is_file() and (tmp_path / "checkpoints" / "step-00000002").is_dir()
    longer = TrackerTrainConfig(**{**vars(cfg), "max_steps": 3})
    train_tracker(longer, progress=False)
    steps = [int(r.split(",")[0]) for r in (tmp_path / "loss.csv").read_text().splitlines()[1:]]
    assert steps == [1, 2, 3]  # resumed at 2, not retrained
    model = GroundingTracker.from_pretrained(final)
    val = read_tracklets(world / "val")
    results = track_dataset(model, val)
    assert [c.name for c in results.tracks] == [c.name for c in val]
    assert results.features.shape == (2, model.config.widths[-1])
    assert all(i.score is not None for c in results.tracks for i in c.instances)
    assert [i.id for i in results.followed[0].instances] == [i.id for i in val[0].instances]
    assert set(track_ap(val, results.tracks)) >= {"AP", "AP50", "AP75"}
