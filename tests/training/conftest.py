"""Tiny training configs shared by the training and pipeline tests (the world is in tests/conftest.py)."""

from __future__ import annotations

from trackdiffusion.training.config import DataConfig, ModelConfig, TrainConfig

# A UNet of ~0.3M parameters: enough to exercise every path, fast on a CPU.
TINY_OPTIONS = dict(
    block_out_channels=[16, 32], down_block_types=["CrossAttnDownBlock3D", "DownBlock3D"],
    up_block_types=["UpBlock3D", "CrossAttnUpBlock3D"], attention_head_dim=8, norm_num_groups=8,
    location_token_dim=32, location_mlp_dim=32, enhancer_dim=16, trajectory_dim=16, identity_bank_size=16,
)


def tiny_config(world, out, **overrides) -> TrainConfig:
    cfg = TrainConfig(
        output_dir=str(out), max_steps=4, batch_size=2, warmup_steps=1, log_every=1, checkpoint_every=2,
        keep_last=2, ema_decay=0.99,
        data=DataConfig(path=str(world / "train"), num_frames=4, width=32, height=32),
        model=ModelConfig(size="tiny", options=dict(TINY_OPTIONS), text_max_length=8),
    )
    for key, value in overrides.items():
        setattr(cfg, key, value)
    return cfg.validate()
