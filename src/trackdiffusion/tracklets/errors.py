"""Errors that point at the bad value: file, record and field.

Every reader and validator reports a :class:`Problem` with a location such as
``ann.json: annotations[12] (id=40): bbox`` so that a user can open the file and fix it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an annotation, and where it is."""

    location: str
    message: str

    def __str__(self) -> str:
        return f"{self.location}: {self.message}"


class TrackletError(ValueError):
    """Invalid tracklets. ``problems`` lists every problem found, each with its location."""

    def __init__(self, problems: list[Problem] | Problem | str):
        if isinstance(problems, str):
            problems = [Problem("<input>", problems)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems: list[Problem] = list(problems)
        shown = "\n".join(f"  {p}" for p in self.problems[:20])
        more = f"\n  ... and {len(self.problems) - 20} more" if len(self.problems) > 20 else ""
        super().__init__(f"{len(self.problems)} problem(s) in tracklets:\n{shown}{more}")


class FormatError(TrackletError):
    """A file that cannot be parsed as the format it claims to be."""

    def __init__(self, location: str, message: str):
        super().__init__([Problem(location, message)])
