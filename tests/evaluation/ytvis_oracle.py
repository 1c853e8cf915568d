"""Test oracle: youtubevos' ``ytvoseval`` algorithm on pycocotools masks, written independently.

It reads YouTube-VIS dicts with ``bboxes`` and turns every box into a box-shaped RLE mask (integer
boxes via ``pycocotools.mask.frPyObjects``), as one would to run the reference; IoUs come from
``mask.merge`` / ``mask.area`` as in the reference, and the evaluation follows its steps
(prepare, per-video evaluation, accumulation, summary) on plain dicts and lists, so that it shares
no code with :mod:`trackdiffusion.evaluation.trackap`.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
from pycocotools import mask as mask_utils

from trackdiffusion.tracklets.dataset import TrackletDataset

IOU_THRS = np.linspace(0.5, 0.95, int(np.round((0.95 - 0.5) / 0.05)) + 1, endpoint=True)
REC_THRS = np.linspace(0.0, 1.0, int(np.round(1.0 / 0.01)) + 1, endpoint=True)
MAX_DETS = [1, 10, 100]
AREA_RNG = [[0, 1e5 ** 2], [0, 128 ** 2], [128 ** 2, 256 ** 2], [256 ** 2, 1e5 ** 2]]
AREA_LBL = ["all", "small", "medium", "large"]


def _rle(xywh, height, width):
    assert all(float(v).is_integer() for v in xywh), "the oracle needs integer boxes"
    return mask_utils.frPyObjects(np.array([xywh], dtype=np.float64), height, width)[0]


def _xywh(inst, t):
    x0, y0, x1, y1 = inst.boxes[t]
    return [float(x0), float(y0), float(x1 - x0), float(y1 - y0)] if inst.present[t] else None


def to_ytvis(gt: TrackletDataset, pred: TrackletDataset) -> tuple[dict, list]:
    """``(annotation dict, results list)`` in YouTube-VIS form with ``bboxes`` (video ids 1..N
    unless the clips carry their own; annotation ids 1..K)."""
    vid_of = {}
    videos, anns = [], []
    for i, clip in enumerate(gt.clips):
        vid = clip.video_id if clip.video_id is not None else i + 1
        vid_of[clip.name] = vid
        videos.append({"id": vid, "width": clip.width, "height": clip.height, "length": clip.num_frames})
        for inst in clip.instances:
            boxes = [_xywh(inst, t) for t in range(clip.num_frames)]
            anns.append({"id": len(anns) + 1, "video_id": vid, "category_id": inst.category_id,
                         "iscrowd": int(inst.iscrowd), "bboxes": boxes,
                         "areas": [None if b is None else b[2] * b[3] for b in boxes]})
    results = [{"video_id": vid_of[clip.name], "category_id": inst.category_id, "score": float(inst.score[0]),
                "bboxes": [_xywh(inst, t) for t in range(clip.num_frames)]}
               for clip in pred.clips for inst in clip.instances]
    cats = [{"id": c, "name": n} for c, n in gt.categories.items()]
    return {"videos": videos, "annotations": anns, "categories": cats}, results


def _masks(bboxes, video):
    """Box-shaped RLE masks per frame (``None`` where the track is absent)."""
    return [None if b is None else _rle(b, video["height"], video["width"]) for b in bboxes]


def _avg_area(areas):
    nonzero = [a for a in areas if a]
    return float(np.array(nonzero).mean()) if nonzero else 0


class YTVISOracle:
    """``run()`` -> ``(stats[12], precision [T,R,K,A,M], recall [T,K,A,M])`` as fractions."""

    def __init__(self, dataset: dict, results: list):
        """``dataset`` and ``results`` in YouTube-VIS form with ``bboxes``; boxes become masks."""
        videos = {v["id"]: v for v in dataset["videos"]}
        self.vid_ids = sorted(videos)
        self.cat_ids = sorted(c["id"] for c in dataset["categories"])
        self.gts = defaultdict(list)
        self.dts = defaultdict(list)
        for ann in dataset["annotations"]:
            segs = _masks(ann["bboxes"], videos[ann["video_id"]])
            ann = dict(ann, segmentations=segs, avg_area=_avg_area(ann["areas"]), ignore=bool(ann["iscrowd"]))
            self.gts[ann["video_id"], ann["category_id"]].append(ann)
        for n, res in enumerate(results):
            segs = _masks(res["bboxes"], videos[res["video_id"]])
            areas = [mask_utils.area(s) if s else None for s in segs]
            res = dict(res, segmentations=segs, id=n + 1, areas=areas, avg_area=_avg_area(areas), iscrowd=0)
            if res["category_id"] in self.cat_ids:
                self.dts[res["video_id"], res["category_id"]].append(res)

    def _sorted_dts(self, key):
        dts = self.dts[key]
        order = np.argsort([-d["score"] for d in dts], kind="mergesort")
        return [dts[i] for i in order][: MAX_DETS[-1]]

    def _ious(self, key):
        gts, dts = self.gts[key], self._sorted_dts(key)
        out = np.zeros((len(dts), len(gts)))
        for i, d in enumerate(dts):
            for j, g in enumerate(gts):
                inter = union = 0.0
                for sd, sg in zip(d["segmentations"], g["segmentations"]):
                    if sd and sg:
                        inter += mask_utils.area(mask_utils.merge([sd, sg], True))
                        union += mask_utils.area(mask_utils.merge([sd, sg], False))
                    elif sg:
                        union += mask_utils.area(sg)
                    elif sd:
                        union += mask_utils.area(sd)
                out[i, j] = inter / union if union > 0 else 0.0
        return out

    def _evaluate_video(self, key, ious, rng):
        gts, dts = self.gts[key], self._sorted_dts(key)
        if not gts and not dts:
            return None
        flags = [1 if (g["ignore"] or g["avg_area"] < rng[0] or g["avg_area"] > rng[1]) else 0 for g in gts]
        gorder = np.argsort(flags, kind="mergesort")
        gts = [gts[i] for i in gorder]
        g_ign = np.array([flags[i] for i in gorder])
        crowd = [g["iscrowd"] for g in gts]
        ious = ious[:, gorder] if len(ious) else ious
        nt = len(IOU_THRS)
        gtm, dtm, dt_ig = np.zeros((nt, len(gts))), np.zeros((nt, len(dts))), np.zeros((nt, len(dts)))
        if len(ious):
            for ti, thr in enumerate(IOU_THRS):
                for di, d in enumerate(dts):
                    cur, m = min([thr, 1 - 1e-10]), -1
                    for gi in range(len(gts)):
                        if gtm[ti, gi] > 0 and not crowd[gi]:
                            continue
                        if m > -1 and g_ign[m] == 0 and g_ign[gi] == 1:
                            break
                        if ious[di, gi] < cur:
                            continue
                        cur, m = ious[di, gi], gi
                    if m == -1:
                        continue
                    dt_ig[ti, di] = g_ign[m]
                    dtm[ti, di] = gts[m]["id"]
                    gtm[ti, m] = d["id"]
        out_of_rng = np.array([d["avg_area"] < rng[0] or d["avg_area"] > rng[1] for d in dts]).reshape(1, -1)
        dt_ig = np.logical_or(dt_ig, np.logical_and(dtm == 0, np.repeat(out_of_rng, nt, 0)))
        return {"dtm": dtm, "dt_ig": dt_ig, "g_ign": g_ign, "scores": [d["score"] for d in dts]}

    def run(self):
        nt, nr, nk, na, nm = len(IOU_THRS), len(REC_THRS), len(self.cat_ids), len(AREA_RNG), len(MAX_DETS)
        precision, recall = -np.ones((nt, nr, nk, na, nm)), -np.ones((nt, nk, na, nm))
        ious = {(v, c): self._ious((v, c)) for v in self.vid_ids for c in self.cat_ids}
        for k, cat in enumerate(self.cat_ids):
            for a, rng in enumerate(AREA_RNG):
                evals = [self._evaluate_video((v, cat), ious[v, cat], rng) for v in self.vid_ids]
                evals = [e for e in evals if e is not None]
                for m, md in enumerate(MAX_DETS):
                    if not evals:
                        continue
                    scores = np.concatenate([e["scores"][:md] for e in evals])
                    order = np.argsort(-scores, kind="mergesort")
                    dtm = np.concatenate([e["dtm"][:, :md] for e in evals], axis=1)[:, order]
                    dt_ig = np.concatenate([e["dt_ig"][:, :md] for e in evals], axis=1)[:, order]
                    npig = np.count_nonzero(np.concatenate([e["g_ign"] for e in evals]) == 0)
                    if npig == 0:
                        continue
                    kept = np.logical_not(dt_ig)
                    tps = np.cumsum(np.logical_and(dtm, kept), axis=1).astype(np.float64)
                    fps = np.cumsum(np.logical_and(np.logical_not(dtm), kept), axis=1).astype(np.float64)
                    for t in range(nt):
                        tp, fp = tps[t], fps[t]
                        nd = len(tp)
                        rc = tp / npig
                        pr = list(tp / (fp + tp + np.spacing(1)))
                        recall[t, k, a, m] = rc[-1] if nd else 0
                        for i in range(nd - 1, 0, -1):
                            pr[i - 1] = max(pr[i - 1], pr[i])
                        q = [0.0] * nr
                        for ri, pi in enumerate(np.searchsorted(rc, REC_THRS, side="left")):
                            if pi >= nd:
                                break
                            q[ri] = pr[pi]
                        precision[t, :, k, a, m] = q
        return self._stats(precision, recall), precision, recall

    @staticmethod
    def _stats(precision, recall):
        def one(ap, thr=None, area="all", md=100):
            s = precision if ap else recall
            if thr is not None:
                s = s[np.where(thr == IOU_THRS)[0]]
            a, m = AREA_LBL.index(area), MAX_DETS.index(md)
            s = s[:, :, :, a, m] if ap else s[:, :, a, m]
            return -1 if len(s[s > -1]) == 0 else float(np.mean(s[s > -1]))

        return [one(1), one(1, 0.5), one(1, 0.75), one(1, area="small"), one(1, area="medium"),
                one(1, area="large"), one(0, md=1), one(0, md=10), one(0), one(0, area="small"),
                one(0, area="medium"), one(0, area="large")]
