"""Progress of a run: a progress bar, the loss curve as a CSV appended as training goes, and its PNG plot."""

from __future__ import annotations

import csv
from pathlib import Path

from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

COLUMNS = ("step", "loss", "lr", "steps_per_s")


def progress_bar(disable: bool = False) -> Progress:
    """A rich progress bar with a free-text ``info`` field (loss, speed)."""
    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                    TextColumn("{task.fields[info]}"), TimeElapsedColumn(), TimeRemainingColumn(), disable=disable)


class LossLog:
    """``<dir>/loss.csv`` (one row per logged step) and ``<dir>/loss.png``."""

    def __init__(self, output_dir: str | Path, resume_step: int = 0):
        self.csv = Path(output_dir) / "loss.csv"
        self.png = Path(output_dir) / "loss.png"
        rows = self.rows()
        kept = [r for r in rows if int(r["step"]) <= resume_step]
        if len(kept) != len(rows) or not self.csv.exists():  # drop rows a resumed run will redo
            self._write(kept)

    def rows(self) -> list[dict]:
        if not self.csv.is_file():
            return []
        with self.csv.open() as f:
            return list(csv.DictReader(f))

    def _write(self, rows: list[dict]) -> None:
        self.csv.parent.mkdir(parents=True, exist_ok=True)
        with self.csv.open("w", newline="") as f:
            w = csv.DictWriter(f, COLUMNS)
            w.writeheader()
            w.writerows(rows)

    def append(self, step: int, loss: float, lr: float, steps_per_s: float) -> None:
        with self.csv.open("a", newline="") as f:
            csv.writer(f).writerow([step, f"{loss:.6f}", f"{lr:.6g}", f"{steps_per_s:.4f}"])

    def plot(self, title: str = "training loss") -> Path:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        rows = self.rows()
        steps = [int(r["step"]) for r in rows]
        loss = [float(r["loss"]) for r in rows]
        fig, ax = plt.subplots(figsize=(6, 3.5), dpi=100)
        ax.plot(steps, loss, lw=0.8, alpha=0.5, label="logged")
        if len(loss) >= 10:  # a running mean shows the trend through the diffusion-loss noise
            k = max(5, len(loss) // 20)
            smooth = [sum(loss[max(0, i - k + 1):i + 1]) / len(loss[max(0, i - k + 1):i + 1]) for i in range(len(loss))]
            ax.plot(steps, smooth, lw=1.5, label=f"mean of {k}")
        ax.set_xlabel("step")
        ax.set_ylabel("loss")
        ax.set_yscale("log")
        ax.set_title(title)
        ax.legend()
        fig.tight_layout()
        fig.savefig(self.png)
        plt.close(fig)
        return self.png
