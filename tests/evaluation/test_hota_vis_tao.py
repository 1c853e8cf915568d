"""The YouTube-VIS and TAO protocols equal TrackEval's own classes run on the same files.

The fixtures are written here to hold every rule those classes apply: TAO's merged categories,
negative and not-exhaustively-labelled categories, images without annotations, tracks that change
category, images ordered by ``frame_index`` only; YouTube-VIS's per-class evaluation with a class
that has no ground truth, crowd tracks, masks as uncompressed (ground truth) and compressed
(results) RLE. The oracle is TrackEval pointed at the files directly.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import trackeval
from pycocotools import mask as mask_utils
from test_hota_benchmarks import assert_equal_to, official

from trackdiffusion.evaluation.hota import hota_evaluate, protocol_for
from trackdiffusion.tracklets.formats import read_tao_results, read_tracklets, read_ytvis_results

# ----------------------------------------------------------------------------------------- TAO
CATEGORIES = [{"id": 1, "name": "person"}, {"id": 2, "name": "car", "merged": [{"id": 3, "name": "automobile"}]},
              {"id": 3, "name": "automobile"}, {"id": 4, "name": "dog"}, {"id": 5, "name": "bicycle"}]


def tao_gt() -> dict:
    """Two videos; video 0 lists its images out of frame order, image 13 has no annotation."""
    videos = [{"id": 0, "name": "train/YFCC100M/v_a", "width": 64, "height": 48, "neg_category_ids": [4],
               "not_exhaustive_category_ids": [1]},
              {"id": 1, "name": "train/LaSOT/v_b", "width": 64, "height": 48, "neg_category_ids": [],
               "not_exhaustive_category_ids": []}]
    images = [{"id": 11, "video_id": 0, "frame_index": 60, "file_name": "v_a/60.jpg", "width": 64, "height": 48},
              {"id": 10, "video_id": 0, "frame_index": 30, "file_name": "v_a/30.jpg", "width": 64, "height": 48},
              {"id": 12, "video_id": 0, "frame_index": 90, "file_name": "v_a/90.jpg", "width": 64, "height": 48},
              {"id": 13, "video_id": 0, "frame_index": 120, "file_name": "v_a/120.jpg", "width": 64, "height": 48},
              {"id": 20, "video_id": 1, "frame_index": 0, "file_name": "v_b/0.jpg", "width": 64, "height": 48},
              {"id": 21, "video_id": 1, "frame_index": 30, "file_name": "v_b/30.jpg", "width": 64, "height": 48}]
    boxes = {  # (image, track, category): x, y, w, h
        (10, 1, 1): [2, 3, 10, 20], (11, 1, 1): [4, 3, 10, 20], (12, 1, 1): [6, 3, 10, 20],
        (10, 2, 3): [30, 10, 20, 12], (11, 2, 3): [32, 10, 20, 12], (12, 2, 3): [34, 10, 20, 12],
        (20, 5, 5): [5, 5, 15, 15], (21, 5, 5): [7, 5, 15, 15], (20, 6, 2): [40, 20, 16, 10],
    }
    annotations = [{"id": n + 1, "image_id": img, "video_id": 0 if img < 20 else 1, "track_id": track,
                    "category_id": cat, "bbox": box, "area": box[2] * box[3], "iscrowd": 0}
                   for n, ((img, track, cat), box) in enumerate(boxes.items())]
    tracks = sorted({(a["track_id"], a["category_id"], a["video_id"]) for a in annotations})
    return {"videos": videos, "images": images, "annotations": annotations, "categories": CATEGORIES,
            "tracks": [{"id": t, "category_id": c, "video_id": v} for t, c, v in tracks]}


def tao_results() -> list[dict]:
    def det(img, track, cat, box, score=0.9):
        return {"image_id": img, "category_id": cat, "bbox": box, "score": score, "track_id": track}
    return [
        det(10, 7, 1, [2, 3, 10, 20]), det(11, 7, 1, [5, 3, 10, 20]), det(12, 7, 2, [6, 3, 10, 20]),  # switches class
        det(10, 8, 2, [30, 10, 20, 12]), det(11, 8, 3, [33, 11, 20, 12]), det(12, 9, 2, [34, 10, 20, 12]),  # merged
        det(10, 30, 1, [50, 30, 8, 8], 0.4),   # unmatched person: not exhaustively labelled, removed
        det(11, 31, 4, [50, 30, 8, 8], 0.5),   # dog: negative for video 0, a false positive
        det(12, 32, 5, [50, 30, 8, 8], 0.6),   # bicycle: no ground truth in video 0, not negative: removed
        det(13, 33, 2, [1, 1, 5, 5], 0.7),     # an image without annotations: TrackEval ignores it
        det(20, 5, 5, [5, 5, 15, 15]), det(21, 5, 5, [20, 25, 15, 15]),
        det(20, 6, 2, [40, 20, 16, 10]), det(21, 6, 2, [40, 20, 16, 10], 0.2),
    ]


def official_tao(gt_file: Path, results_file: Path, tmp: Path) -> dict:
    (tmp / "o_gt").mkdir()
    (tmp / "o_gt" / "gt.json").write_text(gt_file.read_text())
    (tmp / "o_tr" / "t" / "data").mkdir(parents=True)
    (tmp / "o_tr" / "t" / "data" / "r.json").write_text(results_file.read_text())
    return official(trackeval.datasets.TAO({
        "GT_FOLDER": str(tmp / "o_gt"), "TRACKERS_FOLDER": str(tmp / "o_tr"), "TRACKERS_TO_EVAL": ["t"],
        "OUTPUT_FOLDER": str(tmp / "o_out"), "PRINT_CONFIG": False}))


def assert_rows_equal(result, theirs: dict, classes: list[str]) -> None:
    rows = dict(result.rows)
    assert list(rows) == ["all (class average)", "all (detections pooled)", *classes]
    combined = theirs["COMBINED_SEQ"]
    assert_equal_to(rows["all (class average)"], combined["cls_comb_cls_av"])
    assert_equal_to(rows["all (detections pooled)"], combined["cls_comb_det_av"])
    for cls in classes:
        assert_equal_to(rows[cls], combined[cls])


@pytest.fixture
def tao_files(tmp_path):
    gt_file, results_file = tmp_path / "tao.json", tmp_path / "results.json"
    gt_file.write_text(json.dumps(tao_gt()))
    results_file.write_text(json.dumps(tao_results()))
    return gt_file, results_file


def test_tao_reader_orders_images_by_frame_index_and_records_image_ids(tao_files):
    gt = read_tracklets(tao_files[0])
    assert protocol_for("cocovid", gt) == "tao"
    clip = gt.clips[0]
    assert clip.frame_names == ["v_a/30.jpg", "v_a/60.jpg", "v_a/90.jpg", "v_a/120.jpg"]
    assert gt.info["tao"]["image_ids"] == {"train/YFCC100M/v_a": [10, 11, 12, 13], "train/LaSOT/v_b": [20, 21]}
    track1 = next(i for i in clip.instances if i.id == 1)
    np.testing.assert_array_equal(track1.boxes[:3, 0], [2, 4, 6])


def test_tao_results_file_equals_official_trackeval(tao_files, tmp_path):
    gt = read_tracklets(tao_files[0])
    pred = read_tao_results(tao_files[1], gt)
    # Track 7 changes category: one instance per (track, category).
    assert [pred.categories[i.category_id] for i in pred.clips[0].instances][:3] == ["person", "car", "car"]
    result = hota_evaluate(gt, pred, "tao")
    theirs = official_tao(*tao_files, tmp_path)
    assert_rows_equal(result, theirs, ["person", "car", "bicycle"])  # classes with ground truth; merged into car
    rows = dict(result.rows)
    assert rows["person"]["CLR_FP"] == 0 and rows["bicycle"]["IDSW"] == 0
    assert 0 < rows["all (detections pooled)"]["HOTA"] < 100


def test_tao_from_other_predictions_is_written_against_the_image_ids(tao_files, tmp_path):
    """Predictions from any other format go through the TAO results writer; per-class numbers are
    those of the equivalent results file."""
    gt = read_tracklets(tao_files[0])
    pred = read_tao_results(tao_files[1], gt)
    pred.info.pop("tao_results")
    result = hota_evaluate(gt, pred, "tao")
    assert_rows_equal(result, official_tao(*tao_files, tmp_path), ["person", "car", "bicycle"])


def test_tao_detections_on_unlisted_images_are_skipped_and_the_rest_scored(tao_files, tmp_path):
    """TrackEval's TAO class fails on them (KeyError), so the file is not passed as it is."""
    extra = tmp_path / "extra.json"
    extra.write_text(json.dumps(tao_results() + [{"image_id": 99, "category_id": 1, "bbox": [1, 1, 4, 4],
                                                  "score": 0.5, "track_id": 40, "video_id": 0}]))
    gt = read_tracklets(tao_files[0])
    with pytest.warns(UserWarning, match="skipped 1 detections on images that .*tao.json does not list"):
        pred = read_tao_results(extra, gt)
    assert "tao_results" not in pred.info
    assert_rows_equal(hota_evaluate(gt, pred, "tao"), official_tao(*tao_files, tmp_path), ["person", "car", "bicycle"])


def test_tao_needs_a_tao_file(tmp_path):
    data = tao_gt()
    del data["tracks"]
    for img in data["images"]:
        img["frame_id"] = img["frame_index"] // 30 - (img["video_id"] == 0)
    (tmp_path / "plain.json").write_text(json.dumps(data))
    gt = read_tracklets(tmp_path / "plain.json")
    assert protocol_for("cocovid", gt) == "class-agnostic"
    with pytest.raises(ValueError, match="not a TAO file"):
        hota_evaluate(gt, gt, "tao")


# --------------------------------------------------------------------------------- YouTube-VIS
H, W = 24, 32
RECTS = {  # annotation id: category, iscrowd, per-frame integer rectangle (x, y, w, h) or None
    1: (1, 0, [(2, 2, 8, 10), (3, 2, 8, 10), (4, 2, 8, 10)]),
    2: (2, 0, [(15, 5, 10, 6), None, (17, 5, 10, 6)]),
    3: (1, 1, [(20, 14, 10, 8), (20, 14, 10, 8), None]),
}


def rle(rect, compressed: bool) -> dict:
    x, y, w, h = rect
    mask = np.zeros((H, W), np.uint8, order="F")
    mask[y:y + h, x:x + w] = 1
    encoded = mask_utils.encode(mask)
    if compressed:
        return {"size": [H, W], "counts": encoded["counts"].decode("ascii")}
    flat = mask.flatten(order="F")  # uncompressed counts: run lengths, starting with zeros
    changes = np.flatnonzero(np.diff(np.concatenate([[0], flat, [1 - flat[-1]]])))
    return {"size": [H, W], "counts": np.diff(np.concatenate([[0], changes])).tolist()}


def vis_gt() -> dict:
    anns = [{"id": i, "video_id": 1, "category_id": c, "iscrowd": crowd, "height": H, "width": W,
             "bboxes": [list(r) if r else None for r in rects], "areas": [r[2] * r[3] if r else None for r in rects],
             "segmentations": [rle(r, False) if r else None for r in rects]}
            for i, (c, crowd, rects) in RECTS.items()]
    return {"videos": [{"id": 1, "width": W, "height": H, "length": 3,
                        "file_names": [f"vid1/{t:05d}.jpg" for t in range(3)]}],
            "annotations": anns,
            "categories": [{"id": 1, "name": "person"}, {"id": 2, "name": "fish"}, {"id": 3, "name": "duck"}]}


PREDICTIONS = [  # category, score, rectangles
    (1, 0.9, [(2, 2, 8, 10), (4, 3, 8, 10), (4, 2, 8, 10)]),
    (2, 0.8, [(15, 5, 10, 6), (16, 5, 10, 6), (17, 6, 10, 6)]),
    (1, 0.3, [(20, 14, 10, 8), None, None]),      # on the crowd track
    (3, 0.5, [None, (1, 1, 4, 4), (1, 1, 4, 4)]),  # a class with no ground truth
]


def vis_results(kind: str) -> list[dict]:
    out = []
    for cat, score, rects in PREDICTIONS:
        result = {"video_id": 1, "category_id": cat, "score": score}
        if kind == "boxes":
            result["bboxes"] = [list(r) if r else None for r in rects]
        else:
            result["segmentations"] = [rle(r, kind == "compressed") if r else None for r in rects]
        out.append(result)
    return out


def official_vis(gt: dict, results: list[dict], tmp: Path) -> dict:
    (tmp / "o_gt" / "youtube_vis_train").mkdir(parents=True)
    (tmp / "o_gt" / "youtube_vis_train" / "gt.json").write_text(json.dumps(gt))
    (tmp / "o_tr" / "youtube_vis_train" / "t" / "data").mkdir(parents=True)
    (tmp / "o_tr" / "youtube_vis_train" / "t" / "data" / "r.json").write_text(json.dumps(results))
    return official(trackeval.datasets.YouTubeVIS({
        "GT_FOLDER": f"{tmp / 'o_gt'}/", "TRACKERS_FOLDER": f"{tmp / 'o_tr'}/", "TRACKERS_TO_EVAL": ["t"],
        "SPLIT_TO_EVAL": "train", "OUTPUT_FOLDER": str(tmp / "o_out"), "PRINT_CONFIG": False}))


@pytest.mark.parametrize("kind", ["compressed", "uncompressed", "boxes"])
def test_youtube_vis_equals_official_trackeval(kind, tmp_path):
    """Mask results are scored on masks; box results with box IoU, which on these pixel-aligned
    rectangles equals the mask IoU, so every route meets TrackEval's numbers on the mask files."""
    (tmp_path / "gt.json").write_text(json.dumps(vis_gt()))
    (tmp_path / "r.json").write_text(json.dumps(vis_results(kind)))
    gt = read_tracklets(tmp_path / "gt.json")
    assert protocol_for("ytvis", gt) == "youtube-vis"
    pred = read_ytvis_results(tmp_path / "r.json", gt)
    result = hota_evaluate(gt, pred, "youtube-vis")
    assert ("mask IoU" in result.description) == (kind != "boxes")
    theirs = official_vis(vis_gt(), vis_results("compressed"), tmp_path)
    assert_rows_equal(result, theirs, ["person", "fish", "duck"])
    rows = dict(result.rows)
    assert 0 < rows["person"]["HOTA"] < 100 and rows["duck"]["CLR_FP"] == 2


def test_mask_only_results_read_as_their_bounding_boxes(tmp_path):
    (tmp_path / "gt.json").write_text(json.dumps(vis_gt()))
    (tmp_path / "r.json").write_text(json.dumps(vis_results("uncompressed")))
    pred = read_ytvis_results(tmp_path / "r.json", read_tracklets(tmp_path / "gt.json"))
    first = pred.clips[0].instances[0]
    np.testing.assert_array_equal(first.boxes[1], [4, 3, 12, 13])
    assert pred.clips[0].instances[3].present.tolist() == [False, True, True]


def test_real_tao_excerpt_equals_official_trackeval(tmp_path):
    """mmtracking's excerpt of TAO train (tests/fixtures/formats/cocovid/tao.json): its category
    table lacks one category it uses; TrackEval then evaluates only the listed one (baby)."""
    gt_file = Path(__file__).parents[1] / "fixtures" / "formats" / "cocovid" / "tao.json"
    data = json.loads(gt_file.read_text())
    results = [{"image_id": a["image_id"], "category_id": a["category_id"], "score": 0.5 + 0.1 * n,
                "bbox": [a["bbox"][0] + 8 * (a["image_id"] % 2), *a["bbox"][1:]], "track_id": a["track_id"]}
               for n, a in enumerate(data["annotations"])]
    (tmp_path / "r.json").write_text(json.dumps(results))
    with pytest.warns(UserWarning, match="categories \\[95\\] are used but not in the table"):
        gt = read_tracklets(gt_file, derive_missing_categories=True)
    result = hota_evaluate(gt, read_tao_results(tmp_path / "r.json", gt), protocol_for("cocovid", gt))
    assert_rows_equal(result, official_tao(gt_file, tmp_path / "r.json", tmp_path), ["baby"])
