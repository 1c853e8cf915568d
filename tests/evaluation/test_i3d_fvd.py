"""I3D (randomly initialised, small inputs for speed) and the FVD pipeline around it."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from trackdiffusion.evaluation.fvd import FVDResult, fvd, fvd_from_dirs, list_videos, preprocess
from trackdiffusion.evaluation.i3d import I3DWeightsError, InceptionI3d, load_i3d
from trackdiffusion.video.io import write_png_frames


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """These inputs are tiny: on a shared 2-core machine, thread hand-offs cost more than the work."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("i3d") / "rgb_random.pt"
    torch.save(InceptionI3d().state_dict(), path)
    return path


@pytest.fixture(scope="module")
def model(weights):
    return load_i3d(weights)


@pytest.fixture(scope="module")
def small_head(tmp_path_factory):
    """I3D with an 8-way head: the FVD pipeline is the same, and the 8 x 8 covariances of a few
    clips keep ``sqrtm`` fast (400 x 400 rank-2 products take seconds)."""
    torch.manual_seed(1)
    path = tmp_path_factory.mktemp("i3d") / "small_head.pt"
    torch.save(InceptionI3d(num_classes=8).state_dict(), path)
    return load_i3d(path)


def test_state_dict_uses_the_pytorch_i3d_names():
    keys = set(InceptionI3d().state_dict())
    for key in ("Conv3d_1a_7x7.conv3d.weight", "Conv3d_2c_3x3.bn.running_var", "Mixed_3b.b0.conv3d.weight",
                "Mixed_4f.b1b.bn.bias", "Mixed_5c.b3b.conv3d.weight", "logits.conv3d.weight", "logits.conv3d.bias"):
        assert key in keys
    # 5 stem units (3 with weights) + 9 inception modules x 6 units, 5 tensors per conv+bn unit
    assert len([k for k in keys if not k.endswith("num_batches_tracked")]) == (3 + 9 * 6) * 5 + 2
    assert InceptionI3d().state_dict()["Mixed_4b.b0.conv3d.weight"].shape == (192, 480, 1, 1, 1)


def test_same_padding_sizes():
    with torch.no_grad():
        out = InceptionI3d().Conv3d_1a_7x7(torch.zeros(1, 3, 9, 33, 33))
    assert out.shape == (1, 64, 5, 17, 17)  # ceil(size / stride)


def test_logits_shape_and_determinism(model):
    x = torch.rand(2, 3, 9, 32, 32, generator=torch.Generator().manual_seed(1)) * 2 - 1
    with torch.no_grad():
        y1, y2 = model(x), model(x)
    assert y1.shape == (2, 400) and torch.isfinite(y1).all()
    assert torch.equal(y1, y2)


def test_load_round_trip_and_checkpoint_variants(weights, model, tmp_path):
    state = torch.load(weights, weights_only=True)
    for key, value in model.state_dict().items():
        assert torch.equal(value, state[key])
    wrapped = {"state_dict": {f"module.{k}": v for k, v in state.items() if "num_batches" not in k}}
    torch.save(wrapped, tmp_path / "wrapped.pt")
    again = load_i3d(tmp_path / "wrapped.pt")
    assert torch.equal(again.logits.conv3d.weight, model.logits.conv3d.weight)


def test_the_head_size_comes_from_the_checkpoint(small_head):
    with torch.no_grad():
        assert small_head(torch.zeros(1, 3, 9, 32, 32)).shape == (1, 8)


def test_refuses_without_weights(tmp_path):
    with pytest.raises(I3DWeightsError, match="--i3d-weights FILE"):
        load_i3d(None)
    with pytest.raises(I3DWeightsError, match="does not exist.*rgb_imagenet.pt"):
        load_i3d(tmp_path / "missing.pt")
    torch.save({"conv.weight": torch.zeros(2)}, tmp_path / "other.pt")
    with pytest.raises(I3DWeightsError, match="not an Inception-I3D state dict"):
        load_i3d(tmp_path / "other.pt")
    (tmp_path / "junk.pt").write_text("not a checkpoint")
    with pytest.raises(I3DWeightsError, match="cannot read"):
        load_i3d(tmp_path / "junk.pt")


def test_preprocess_scales_resizes_and_cuts():
    video = np.zeros((20, 48, 64, 3), np.uint8)
    video[:, :, :, 1] = 255
    clip = preprocess(video)
    assert clip.shape == (3, 16, 224, 224)
    assert torch.allclose(clip[0], torch.tensor(-1.0)) and torch.allclose(clip[1], torch.tensor(1.0))
    with pytest.raises(ValueError, match="clip.mp4 has 10 frames; FVD clips take 16"):
        preprocess(video[:10], name="clip.mp4")
    with pytest.raises(ValueError, match="at least 9"):
        preprocess(video, clip_length=8)


def _videos(seed, n, value=None):
    rng = np.random.default_rng(seed)
    if value is not None:
        return [np.full((9, 16, 16, 3), value, np.uint8) for _ in range(n)]
    return [rng.integers(0, 256, (9, 16, 16, 3), dtype=np.uint8) for _ in range(n)]


def test_fvd_carries_its_settings_and_is_deterministic(small_head):
    real, fake = _videos(0, 3), _videos(1, 3)
    a = fvd(real, fake, small_head, clip_length=9, resolution=32, batch_size=2)
    b = fvd(real, fake, small_head, clip_length=9, resolution=32, batch_size=3)
    assert isinstance(a, FVDResult) and a.num_real == a.num_generated == 3
    assert (a.clip_length, a.resolution) == (9, 32)
    assert a.fvd == pytest.approx(b.fvd, rel=1e-6) and a.fvd > 0
    assert str(a).endswith("(3 real vs 3 generated clips, 9 frames at 32x32)")
    same = fvd(real, real, small_head, clip_length=9, resolution=32)
    assert abs(same.fvd) < 1e-6 * max(1.0, a.fvd)


def write_video_folder(folder, videos):
    """Each video as a sub-folder of png frames (lossless, no encoder needed)."""
    for i, video in enumerate(videos):
        write_png_frames(video, folder / f"clip{i}")


def test_fvd_from_folders(weights, tmp_path):
    write_video_folder(tmp_path / "real", _videos(0, 2, 0))
    write_video_folder(tmp_path / "gen", _videos(0, 2, 255))
    (tmp_path / "gen" / "notes.txt").write_text("not a video")
    assert [p.name for p in list_videos(tmp_path / "gen")] == ["clip0", "clip1"]
    out = fvd_from_dirs(tmp_path / "real", tmp_path / "gen", weights, clip_length=9, resolution=32)
    assert out.num_real == 2 and out.fvd > 0
    with pytest.raises(I3DWeightsError):
        fvd_from_dirs(tmp_path / "real", tmp_path / "gen", None)
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="no videos"):
        list_videos(tmp_path / "empty")
