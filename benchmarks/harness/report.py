"""The printed report: headings and lines, statistics, verdicts, phase times with the load average, and
the code measured.

The machine is shared: other work inflates every figure, so each phase records the highest 1-minute
load average seen while it ran (sampled every 5 s) and the report says when the run was not alone.
"""

# ruff: noqa: T201, S607

import math
import os
import statistics
import subprocess
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from benchmarks.harness import ROOT


def heading(text: str) -> None:
    print(f"\n=== {text}", flush=True)


def line(text: str = "") -> None:
    print(text, flush=True)


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else math.nan


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def describe(seconds: Sequence[float]) -> str:
    return (
        f"median {median(seconds):.3f} s, p95 {percentile(seconds, 0.95):.3f} s, "
        f"min {min(seconds):.3f} s, max {max(seconds):.3f} s"
    )


def load_average() -> str:
    return ", ".join(f"{value:.2f}" for value in os.getloadavg())


def code_state() -> str:
    """The commit measured, and how many files differ from it (the work tree is measured as it is)."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        changed = subprocess.run(
            ["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.splitlines()
    except (OSError, subprocess.CalledProcessError):
        return "unknown (no git)"
    return f"commit {head}" + (f" + {len(changed)} changed/untracked paths" if changed else "")


class Phases:
    """Wall time and the highest 1-minute load average of each phase, printed at the end."""

    def __init__(self) -> None:
        self.times: list[tuple[str, float, float]] = []
        self.loads: list[float] = []
        self.started = time.perf_counter()
        self._stop = threading.Event()
        threading.Thread(target=self._sample, daemon=True).start()

    def _sample(self) -> None:
        while not self._stop.wait(5):
            self.loads.append(os.getloadavg()[0])

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        heading(name)
        start, first = time.perf_counter(), len(self.loads)
        try:
            yield
        finally:
            elapsed = time.perf_counter() - start
            highest = max(self.loads[first:] or [os.getloadavg()[0]])
            self.times.append((name, elapsed, highest))
            line(f"[phase time: {elapsed:.1f} s; highest 1-minute load average: {highest:.2f}]")

    def report(self) -> float:
        """Print every phase's time and load; stop sampling; return the highest load average seen."""
        self._stop.set()
        width = max([len(name) for name, _, _ in self.times] + [5])
        heading("Phase times (and the highest 1-minute load average seen)")
        for name, seconds, highest in self.times:
            line(f"  {name:<{width}} {seconds:7.1f} s   load {highest:5.2f}")
        line(f"  {'Total':<{width}} {time.perf_counter() - self.started:7.1f} s")
        return max(self.loads, default=os.getloadavg()[0])


class Summary:
    """The verdict lines printed last, and the exit status they give.

    A broken check (a count that differs, errors, data that does not add up) is FAIL in every run. A
    missed speed target is FAIL in a full run, and SLOW in a quick one: a quick run exercises every
    phase with small data and short loads, and speed is judged only at full size.
    """

    def __init__(self, *, judge_speed: bool) -> None:
        self.judge_speed = judge_speed
        self.entries: list[str] = []

    def add(self, verdict: str, text: str) -> None:
        self.entries.append(f"{verdict}  {text}")

    def check(self, ok: bool, text: str) -> None:
        self.add("PASS" if ok else "FAIL", text)

    def target(self, met: bool, text: str, *, broken: bool = False) -> None:
        """A speed target; `broken` (errors, wrong counts) fails it whatever the speed."""
        if broken:
            self.add("FAIL", text)
        elif met:
            self.add("PASS", text)
        else:
            self.add("FAIL" if self.judge_speed else "SLOW", text)

    def info(self, text: str) -> None:
        self.add("INFO", text)

    def failed(self) -> bool:
        return any(entry.startswith("FAIL") for entry in self.entries)

    def report(self, title: str = "Summary") -> int:
        """Print the verdicts; return the exit status (1 when anything failed)."""
        heading(title)
        for entry in self.entries:
            line(f"  {entry}")
        return 1 if self.failed() else 0
