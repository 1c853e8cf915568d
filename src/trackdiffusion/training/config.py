"""Training configuration: one file (YAML, JSON or TOML) -> validated dataclasses.

Every field has a default; unknown or badly typed fields are errors naming the file and the
field. The resolved configuration is saved as JSON next to every checkpoint.
"""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import asdict, dataclass, field, fields, is_dataclass
from pathlib import Path

import yaml

STAGES = ("image", "video", "spatial", "full")


@dataclass
class DataConfig:
    path: str = ""                      # tracklet data set with frames (any format; e.g. a synthetic split dir)
    num_frames: int = 8                 # T per training clip
    stride: int = 1                     # frame stride of a window
    width: int = 64
    height: int = 64
    captions: str | None = None         # caption file (json {video: text} or tsv); else captions.json / templates
    cache_latents: bool = True          # encode every frame once with the VAE and train on the cache
    num_workers: int = 0                # DataLoader workers (frames are read per batch when not cached)


@dataclass
class ModelConfig:
    size: str = "tiny"                  # tiny | small | modelscope (tracklet-module sizes of a pretrained base too)
    variant: str = "trackdiffusion"     # trackdiffusion | vanilla
    options: dict = field(default_factory=dict)  # any TrackDiffusionUNet argument, e.g. enhancer_placement
    pretrained: str | None = None       # a diffusers pipeline folder: ModelScope text-to-video (its unet gets the
                                        # tracklet modules; its vae, text encoder, tokenizer and scheduler are used)
                                        # or one of ours (e.g. stage 1's final/ to start stage 2)
    init_unet3d: str | None = None      # local diffusers UNet3DConditionModel folder (ModelScope unet/)
    init_checkpoint: str | None = None  # our pipeline folder whose unet/ to start from
    reset_latent_io: bool = False       # with init_checkpoint: a new latent space (another VAE, options.patch_size):
                                        # keep the UNet body, start conv_in / conv_out afresh
    vae: str | None = None              # local AutoencoderKL folder; default: pretrained's vae/, else pixel space
    text_encoder: str | None = None     # "minilm" (bundled) or a local CLIP/transformers folder; default: pretrained's
    text_max_length: int | None = None  # text tokens; default: the text encoder's convention (77 for CLIP)


@dataclass
class DiffusionConfig:
    """The training noise schedule: ``scheduler`` (a folder with scheduler_config.json, default
    ``model.pretrained``'s scheduler/) or the defaults below; every field set here overrides it."""

    scheduler: str | None = None
    num_train_timesteps: int | None = None  # default 1000
    beta_schedule: str | None = None        # default squaredcos_cap_v2; ModelScope: scaled_linear
    beta_start: float | None = None         # default 0.0001; ModelScope: 0.00085
    beta_end: float | None = None           # default 0.02; ModelScope: 0.012
    prediction_type: str | None = None      # default epsilon | v_prediction
    timestep_spacing: str | None = None     # default leading | trailing | linspace (sampling)

    def resolved(self, pretrained: str | None = None) -> dict:
        """The scheduler config these fields describe (what DDPMScheduler.from_config takes)."""
        source = self.scheduler or (str(Path(pretrained) / "scheduler") if pretrained else None)
        if source is None:
            base = dict(DEFAULT_SCHEDULE)
        else:
            file = Path(source) / "scheduler_config.json"
            if not file.is_file():
                field_name = "diffusion.scheduler" if self.scheduler else "model.pretrained"
                raise FileNotFoundError(f"{field_name}: no scheduler at {source} ({file} is missing)")
            base = {**DEFAULT_SCHEDULE, **json.loads(file.read_text())}
        explicit = {k: v for k, v in asdict(self).items() if k != "scheduler" and v is not None}
        return {**base, **explicit}


DEFAULT_SCHEDULE = dict(num_train_timesteps=1000, beta_schedule="squaredcos_cap_v2", beta_start=0.0001,
                        beta_end=0.02, prediction_type="epsilon", timestep_spacing="leading")


@dataclass
class TrainConfig:
    output_dir: str = "runs/trackdiffusion"
    stage: str = "full"                 # image | video (the paper, pretrained) | spatial | full (from scratch)
    seed: int = 0
    max_steps: int = 1000
    batch_size: int = 4                 # per process
    gradient_accumulation_steps: int = 1
    learning_rate: float = 3e-4
    lr_mult: dict = field(default_factory=dict)  # parameter-name substring -> learning-rate multiplier (longest
                                                 # matching key wins), e.g. {enhancer: 10}: paths that start as
                                                 # the identity can learn faster than a trained backbone
    adam_betas: tuple[float, float] = (0.9, 0.999)
    weight_decay: float = 1e-2
    lr_schedule: str = "cosine"         # cosine | constant (both after linear warm-up)
    warmup_steps: int = 100
    max_grad_norm: float = 1.0
    mixed_precision: str | None = None  # no | fp16 | bf16; None: the launcher's (accelerate launch --mixed_precision)
    gradient_checkpointing: bool = False
    ema_decay: float | None = 0.999     # None: no EMA
    foreground_weight: float = 2.0      # paper Table 5
    prompt_dropout: float = 0.1         # guidance dropout, drawn independently
    box_dropout: float = 0.1
    phrase_dropout: float = 0.5         # per instance: train with and without appearance phrases (models with them)
    checkpoint_every: int = 250
    keep_last: int = 3
    log_every: int = 10
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    diffusion: DiffusionConfig = field(default_factory=DiffusionConfig)

    def validate(self, where: str = "config") -> "TrainConfig":
        checks = [
            (self.stage in STAGES, "stage", f"must be one of {STAGES}, got {self.stage!r}"),
            (self.max_steps > 0, "max_steps", f"must be > 0, got {self.max_steps}"),
            (self.batch_size > 0, "batch_size", f"must be > 0, got {self.batch_size}"),
            (isinstance(self.lr_mult, dict) and all(map(_positive_number, self.lr_mult.values())), "lr_mult",
             f"multipliers must be numbers > 0, got {self.lr_mult}"),
            (self.lr_schedule in ("cosine", "constant"), "lr_schedule", f"must be cosine or constant, got {self.lr_schedule!r}"),
            (self.mixed_precision in (None, "no", "fp16", "bf16"), "mixed_precision",
             f"must be no, fp16, bf16 or null (the launcher's), got {self.mixed_precision!r}"),
            (self.foreground_weight > 0, "foreground_weight", f"must be > 0, got {self.foreground_weight}"),
            (0 <= self.prompt_dropout <= 1, "prompt_dropout", f"must be in [0, 1], got {self.prompt_dropout}"),
            (0 <= self.box_dropout <= 1, "box_dropout", f"must be in [0, 1], got {self.box_dropout}"),
            (0 <= self.phrase_dropout <= 1, "phrase_dropout", f"must be in [0, 1], got {self.phrase_dropout}"),
            (self.ema_decay is None or 0 < self.ema_decay < 1, "ema_decay", f"must be in (0, 1) or null, got {self.ema_decay}"),
            (self.checkpoint_every > 0 and self.keep_last > 0, "checkpoint_every", "checkpoint_every and keep_last must be > 0"),
            (bool(self.data.path), "data.path", "is required (a tracklet data set with frames)"),
            (self.data.num_frames > 0 and self.data.stride > 0, "data.num_frames", "num_frames and stride must be > 0"),
            (self.diffusion.prediction_type in (None, "epsilon", "v_prediction"), "diffusion.prediction_type",
             f"must be epsilon or v_prediction, got {self.diffusion.prediction_type!r}"),
            (self.model.text_max_length is None or self.model.text_max_length > 0, "model.text_max_length",
             f"must be > 0 or null, got {self.model.text_max_length}"),
            (self.model.pretrained is None or not (self.model.init_unet3d or self.model.init_checkpoint),
             "model.pretrained", "excludes model.init_unet3d and model.init_checkpoint (it names the UNet already)"),
            (not self.model.reset_latent_io or self.model.init_checkpoint, "model.reset_latent_io",
             "needs model.init_checkpoint (the UNet whose body is kept)"),
        ]
        for ok, name, message in checks:
            if not ok:
                raise ValueError(f"{where}: {name} {message}")
        return self

    def to_dict(self) -> dict:
        return asdict(self)

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2) + "\n")


# PyYAML reads YAML 1.1, where "4e-4" (no dot) is a string, not a number; configs and --set write it so.
_EXPONENT_FLOAT = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+")


def _exponent_float(value):
    return float(value) if isinstance(value, str) and _EXPONENT_FLOAT.fullmatch(value) else value


def _positive_number(value) -> bool:
    value = _exponent_float(value)
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0


def _build(cls, values: dict, where: str):
    if not isinstance(values, dict):
        raise ValueError(f"{where}: expected a mapping, got {type(values).__name__}")
    known = {f.name: f for f in fields(cls)}
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise ValueError(f"{where}: unknown field(s) {unknown}; known: {sorted(known)}")
    kwargs = {}
    for name, value in values.items():
        default = getattr(cls(), name)
        if value is None and "None" in str(known[name].type):
            kwargs[name] = None
            continue
        if is_dataclass(default):
            kwargs[name] = _build(type(default), value, f"{where}.{name}")
        elif isinstance(default, tuple):
            kwargs[name] = tuple(value)
        elif isinstance(default, bool) and not isinstance(value, bool):
            raise ValueError(f"{where}.{name}: expected true/false, got {value!r}")
        elif isinstance(default, (int, float)) and not isinstance(default, bool) and default is not None:
            value = _exponent_float(value) if isinstance(default, float) else value
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                raise ValueError(f"{where}.{name}: expected a number, got {value!r}")
            kwargs[name] = type(default)(value) if isinstance(default, float) else value
        elif default is None:  # an optional field: its type is the annotation's first member
            kind = str(known[name].type).split("|")[0].strip()
            value = _exponent_float(value) if kind == "float" else value
            expected = {"int": int, "float": (int, float), "str": str}.get(kind, object)
            if not isinstance(value, expected) or (isinstance(value, bool) and kind != "bool"):
                raise ValueError(f"{where}.{name}: expected {kind} or null, got {value!r}")
            kwargs[name] = float(value) if kind == "float" else value
        else:
            kwargs[name] = value
    return cls(**kwargs)


def load_config(path: str | Path, overrides: dict | None = None) -> TrainConfig:
    """Read a YAML / JSON / TOML training config; ``overrides`` are dotted keys (``data.path``)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"training config {path} does not exist")
    text = path.read_text()
    if path.suffix in (".yaml", ".yml"):
        values = yaml.safe_load(text) or {}
    elif path.suffix == ".toml":
        values = tomllib.loads(text)
    elif path.suffix == ".json":
        values = json.loads(text)
    else:
        raise ValueError(f"{path}: unknown config type {path.suffix!r} (use .yaml, .json or .toml)")
    for key, value in (overrides or {}).items():
        node = values
        *parents, leaf = key.split(".")
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = value
    return _build(TrainConfig, values, str(path)).validate(str(path))
