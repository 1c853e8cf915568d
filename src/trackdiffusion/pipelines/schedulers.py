"""The sampler of a training noise schedule: DPM-Solver++ (the paper's), on the same betas."""

from __future__ import annotations

from diffusers import DPMSolverMultistepScheduler
from diffusers.configuration_utils import FrozenDict

COSINE_LAMBDA_MIN = -5.1


def sampling_scheduler(train_scheduler) -> DPMSolverMultistepScheduler:
    """DPM-Solver++ on the noise schedule of ``train_scheduler`` (a scheduler or its config):
    betas, beta schedule, number of timesteps, prediction type and timestep spacing carry over.

    On the cosine schedule the first timesteps have alpha_bar ~ 1e-9, where the solver's x0
    estimate divides the noise prediction's error by sqrt(alpha_bar): frames came out saturated.
    Clipping lambda = log(alpha / sigma) at -5.1 (the value diffusers recommends for this schedule)
    starts the solver at a finite noise level instead.

    The config also says ``clip_sample: false`` (as ModelScope's does), so that a scheduler swapped
    in the diffusers way, ``DDIMScheduler.from_config(pipe.scheduler.config)``, does not clip its
    x0 estimate to [-1, 1]: latents are not images, and with diffusers' default (clip) DDIM gave
    TrackAP 0.06 instead of 59.5 on the shipped checkpoint (fourteenth session, docs/experiments.md).
    """
    config = train_scheduler if isinstance(train_scheduler, (dict, FrozenDict)) else train_scheduler.config
    cosine = config.get("beta_schedule") == "squaredcos_cap_v2"
    clip = {"lambda_min_clipped": COSINE_LAMBDA_MIN} if cosine else {}
    sampler = DPMSolverMultistepScheduler.from_config(config, algorithm_type="dpmsolver++", **clip)
    # A key the solver does not take: kept in its config and passed on by from_config to a swapped class.
    sampler.register_to_config(clip_sample=False)
    return sampler
