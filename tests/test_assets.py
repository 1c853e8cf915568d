"""The shipped weights keep the project's rules: fp16 safetensors only, 25 MB in all, and each
folder under assets/ says how it was made (a README with the exact commands)."""

from __future__ import annotations

from safetensors import safe_open

from trackdiffusion.assets import ASSETS

WEIGHT_SUFFIXES = {".safetensors", ".bin", ".pt", ".pth", ".ckpt", ".pkl", ".npz", ".onnx"}


def test_assets_fit_the_budget_of_25_mb():
    total = sum(p.stat().st_size for p in ASSETS.rglob("*") if p.is_file())
    assert total <= 25_000_000, f"assets/ holds {total / 1e6:.2f} MB, over the 25 MB budget"


def test_every_weights_file_is_safetensors_with_fp16_floats():
    weights = [p for p in ASSETS.rglob("*") if p.suffix in WEIGHT_SUFFIXES]
    assert weights, "no weights found under assets/"
    for path in weights:
        assert path.suffix == ".safetensors", f"{path}: weights must be safetensors"
        with safe_open(path, "pt") as f:
            for key in f.keys():
                dtype = f.get_slice(key).get_dtype()
                # Integer buffers (BatchNorm's step counter) are not weights.
                assert dtype == "F16" or dtype.startswith(("I", "U", "BOOL")), f"{path}: {key} is {dtype}, not fp16"


def test_every_asset_folder_says_how_it_was_made():
    for folder in (p for p in ASSETS.iterdir() if p.is_dir()):
        readme = folder / "README.md"
        assert readme.is_file(), f"{folder} has no README.md"
        assert "trackdiffusion " in readme.read_text(), f"{readme} gives no command that made the weights"
