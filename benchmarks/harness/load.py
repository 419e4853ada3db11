"""Closed-loop HTTP load (threads, one keep-alive http.client connection each), and side-by-side
comparisons in alternating slices.

A shared machine drifts (other processes, autovacuum, checkpoints): configurations measured in turn,
in short slices, meet the same drifts, so their ratio holds better than their absolute figures.
"""

import http.client
import math
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from benchmarks.harness.report import median, percentile


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes | None = None


# Whether an answer (status, body) to a request is the expected one.
Check = Callable[[Request, int, bytes], bool]


@dataclass
class Run:
    """One load run: `ok` counts the expected answers, `errors` everything else (another status or
    body, a connection error); `statuses` counts each ("201", "409!" for an unexpected answer,
    "ConnectionResetError"...)."""

    ok: int
    errors: int
    seconds: float
    latencies: list[float]
    statuses: Counter[str] = field(default_factory=Counter)
    exhausted: bool = False  # next_request ran out of requests
    cpu_seconds: float = math.nan  # the server's, when measured (servers.CpuMeter)

    @property
    def rps(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0

    @property
    def cpu_ms_per_request(self) -> float:
        answered = self.ok + self.errors
        return self.cpu_seconds / answered * 1000 if answered else math.nan

    def ms(self, fraction: float) -> float:
        return percentile(self.latencies, fraction) * 1000

    @classmethod
    def combine(cls, runs: Sequence["Run"]) -> "Run":
        statuses: Counter[str] = Counter()
        for run in runs:
            statuses.update(run.statuses)
        return cls(
            ok=sum(run.ok for run in runs),
            errors=sum(run.errors for run in runs),
            seconds=sum(run.seconds for run in runs),
            latencies=[value for run in runs for value in run.latencies],
            statuses=statuses,
            exhausted=any(run.exhausted for run in runs),
            cpu_seconds=sum(run.cpu_seconds for run in runs),
        )

    def brief(self) -> str:
        bad = {key: value for key, value in self.statuses.items() if not key.startswith("2")}
        return (
            f"{self.rps:6.0f} req/s, p50 {self.ms(0.5):6.2f} ms, p99 {self.ms(0.99):7.2f} ms, "
            f"{self.errors} errors{f' {dict(bad)}' if bad else ''}, {self.ok + self.errors} requests"
            f"{' [REQUESTS EXHAUSTED]' if self.exhausted else ''}"
        )


def closed_loop(
    port: int,
    *,
    concurrency: int,
    next_request: Callable[[], Request | None],
    good: Check,
    seconds: float | None = None,
    requests: int | None = None,
    timeout: float = 30,
) -> Run:
    """`concurrency` threads with one keep-alive connection each to 127.0.0.1:`port`, each sending its
    next request when the last one is answered, until `seconds` have passed or `requests` were sent
    (or next_request returns None: exhausted). A request in flight at the deadline is waited for and
    counted."""
    latencies: list[list[float]] = [[] for _ in range(concurrency)]
    statuses: list[Counter[str]] = [Counter() for _ in range(concurrency)]
    gate = threading.Barrier(concurrency + 1)
    bounds: dict[str, float] = {}
    budget = [requests if requests is not None else 10**12]
    budget_lock = threading.Lock()
    exhausted = threading.Event()

    def worker(number: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        mine, counts = latencies[number], statuses[number]
        gate.wait()
        deadline = bounds["deadline"]
        while time.perf_counter() < deadline:
            with budget_lock:
                if budget[0] <= 0:
                    break
                budget[0] -= 1
            request = next_request()
            if request is None:
                exhausted.set()
                break
            began = time.perf_counter()
            try:
                conn.request(request.method, request.path, body=request.body, headers=request.headers)
                response = conn.getresponse()
                payload = response.read()
                expected = good(request, response.status, payload)
                key = str(response.status) if expected else f"{response.status}!"
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                key = type(exc).__name__
            mine.append(time.perf_counter() - began)
            counts[key] += 1
        conn.close()

    threads = [threading.Thread(target=worker, args=(n,), daemon=True) for n in range(concurrency)]
    for thread in threads:
        thread.start()
    started = time.perf_counter()
    bounds["deadline"] = started + (seconds if seconds is not None else 3600)
    gate.wait()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    total: Counter[str] = Counter()
    for counts in statuses:
        total.update(counts)
    ok = sum(value for key, value in total.items() if re.fullmatch(r"\d{3}", key))
    return Run(
        ok=ok,
        errors=sum(total.values()) - ok,
        seconds=elapsed,
        latencies=[value for per in latencies for value in per],
        statuses=total,
        exhausted=exhausted.is_set(),
    )


@dataclass
class Series:
    """The runs of one configuration, one per round; medians over the rounds."""

    label: str
    runs: list[Run] = field(default_factory=list)

    @property
    def rps(self) -> float:
        return median([run.rps for run in self.runs])

    @property
    def p50_ms(self) -> float:
        return median([run.ms(0.5) for run in self.runs])

    @property
    def p99_ms(self) -> float:
        return median([run.ms(0.99) for run in self.runs])

    @property
    def errors(self) -> int:
        return sum(run.errors for run in self.runs)

    @property
    def cpu_ms(self) -> float:
        return median([run.cpu_ms_per_request for run in self.runs])

    def row(self, width: int) -> str:
        cpu = "" if math.isnan(self.cpu_ms) else f"CPU {self.cpu_ms:5.2f} ms/req  "
        per_round = ", ".join(f"{run.rps:.0f}" for run in self.runs)
        return (
            f"{self.label:<{width}} {self.rps:6.0f} req/s  p50 {self.p50_ms:6.2f} ms  "
            f"p99 {self.p99_ms:7.2f} ms  {cpu}errors {self.errors}  (rounds: {per_round} req/s)"
        )


def round_ratios(numerator: Series, denominator: Series) -> list[float]:
    """Ratios of requests/s within each round (the same minutes of the machine)."""
    return [a.rps / b.rps for a, b in zip(numerator.runs, denominator.runs, strict=True) if b.rps]


def alternating_rounds(
    measure: Callable[[str, float], Run],
    labels: Sequence[str],
    *,
    rounds: int,
    seconds: float,
    slices: int,
    alternate_order: bool = False,
    before_round: Callable[[int, Mapping[str, Series]], None] | None = None,
    after_round: Callable[[int, Mapping[str, Run]], None] | None = None,
) -> list[Series]:
    """Rounds in which every configuration gets `seconds` of load from `measure(label, seconds)`, cut
    into `slices` slices taken in turn (A B A B ...); with `alternate_order`, every other round starts
    with the last configuration (B A B A ...). Returns a series per label, in order."""
    series = {label: Series(label) for label in labels}
    slice_seconds = seconds / slices
    for number in range(1, rounds + 1):
        if before_round is not None:
            before_round(number, series)
        order = list(reversed(labels)) if alternate_order and number % 2 == 0 else list(labels)
        parts: dict[str, list[Run]] = {label: [] for label in labels}
        for _ in range(slices):
            for label in order:
                parts[label].append(measure(label, slice_seconds))
        results = {label: Run.combine(parts[label]) for label in labels}
        for label, result in results.items():
            series[label].runs.append(result)
        if after_round is not None:
            after_round(number, results)
    return [series[label] for label in labels]
