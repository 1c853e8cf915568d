"""Which process generates which clip.

Clip ``i`` of a run's plan (the source data set's order) belongs to shard ``i % num_shards``:
for any number of shards every clip has exactly one owner, and the owner depends only on the
plan, never on timing, so a killed shard re-run with the same flags redoes exactly its own
unfinished clips. Shards come from ``--num-shards K --shard I`` (SLURM arrays and other
schedulers) or from ``accelerate launch`` (process index / count of accelerate's PartialState).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Sequence, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Shard:
    """Shard ``index`` of ``count``; ``distributed``: the shards are the processes of one
    ``accelerate launch`` and can wait for each other."""

    index: int = 0
    count: int = 1
    distributed: bool = False

    def __post_init__(self) -> None:
        if self.count < 1:
            raise ValueError(f"--num-shards must be >= 1, got {self.count}")
        if not 0 <= self.index < self.count:
            raise ValueError(f"--shard must be in [0, {self.count - 1}] for --num-shards {self.count}, "
                             f"got {self.index}")

    def owns(self, position: int) -> bool:
        return position % self.count == self.index

    def select(self, items: Sequence[T]) -> list[T]:
        """The items of this shard, in order."""
        return [item for i, item in enumerate(items) if self.owns(i)]


def resolve_shard(num_shards: int | None, shard: int | None, cpu: bool = False) -> Shard:
    """The shard of this process: explicit flags, else the ``accelerate launch`` process, else all.

    Both at once would be ambiguous (which of K x N shards is this?), so that is refused.
    ``cpu``: the processes run on CPUs (accelerate then joins them with gloo; without it,
    processes launched on a machine without GPUs would each think they are alone).
    """
    from accelerate import PartialState

    state = PartialState(cpu=cpu)
    if (num_shards is None) != (shard is None):
        raise ValueError("pass --num-shards and --shard together (e.g. --num-shards 8 --shard $SLURM_ARRAY_TASK_ID)")
    if num_shards is not None:
        if state.num_processes > 1:
            raise ValueError(f"--num-shards/--shard with {state.num_processes} accelerate processes: use one "
                             "or the other (accelerate already splits the clips between its processes)")
        return Shard(shard, num_shards)
    return Shard(state.process_index, state.num_processes, distributed=state.num_processes > 1)


def wait_until(done: Callable[[], bool], poll_seconds: float = 2.0) -> None:
    """Poll ``done`` until it is true.

    Rank 0 waits for the other processes' clips on disk rather than at a collective barrier: a
    barrier times out after the process group's timeout (30 min by default), and shards of a
    resumed run can finish hours apart. If another process fails, ``accelerate launch`` (torchrun)
    stops every process, so this never waits for a dead shard.
    """
    while not done():
        time.sleep(poll_seconds)
