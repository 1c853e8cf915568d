"""Which MOTChallenge-layout benchmark a set of sequences belongs to, told by their folder names.

TrackEval's ``MotChallenge2DBox`` has three sets of rules, chosen by its ``BENCHMARK`` option:
MOT15 (no classes, no preprocessing), MOT20 (``non_mot_vehicle`` is a distractor too) and the
MOT16/MOT17 ones, which DanceTrack and SportsMOT (same layout, no benchmark class of their own)
are scored with. HT21 (CroHD heads) has its own class, ``HeadTrackingChallenge`` (``BENCHMARK``
``HT``: static, ignore and person-on-vehicle heads are distractors, matched from IoU 0.4, rows of
visibility 0 or conf 0 are not ground truth). The report names the benchmark and the rules.
"""

from __future__ import annotations

#: Folder-name prefix -> benchmark. MOT15's sequences keep their source data sets' names.
_PREFIXES = (("MOT20-", "MOT20"), ("MOT17-", "MOT17"), ("MOT16-", "MOT16"), ("MOT15-", "MOT15"),
             ("HT21-", "HT21"), ("dancetrack", "DanceTrack"), ("v_", "SportsMOT"),
             ("ADL-Rundle-", "MOT15"), ("AVG-TownCentre", "MOT15"), ("ETH-", "MOT15"), ("KITTI-", "MOT15"),
             ("PETS09-", "MOT15"), ("TUD-", "MOT15"), ("Venice-", "MOT15"))
#: Benchmark -> the value of TrackEval's BENCHMARK option with its rules.
_RULES = {"MOT15": "MOT15", "MOT20": "MOT20", "HT21": "HT"}  # MOT16 has MOT17's rules
UNKNOWN = "MOTChallenge layout"


def benchmark_of(sequence: str) -> str:
    """The benchmark a sequence folder name belongs to, :data:`UNKNOWN` for other names."""
    return next((bench for prefix, bench in _PREFIXES if sequence.startswith(prefix)), UNKNOWN)


def rules_for(sequences: list[str]) -> tuple[str, str]:
    """(benchmark names for the report, TrackEval's BENCHMARK option) for sequences scored together.

    Sequences under different rules cannot share one TrackEval run (the option is per dataset),
    so such a mix is refused; benchmarks with the same rules (MOT16 and MOT17) may be mixed.
    """
    found = sorted({benchmark_of(seq) for seq in sequences})
    rules = sorted({_RULES.get(bench, "MOT17") for bench in found})
    if len(rules) > 1:
        raise ValueError(f"sequences of {', '.join(found)} in one evaluation: TrackEval scores them under different "
                         f"rules ({', '.join(rules)}); evaluate them separately")
    return ", ".join(found), rules[0]
