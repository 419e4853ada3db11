"""Tenancy benchmark: provisioning, `migrate_schemas` and per-request routing with N organisations.

Run from the project root (PostgreSQL on 127.0.0.1:5432, user postgres):

    .venv/bin/python benchmarks/tenancy.py                      # 200 organisations, ~6 minutes
    .venv/bin/python benchmarks/tenancy.py --organizations 20   # quick smoke run
    .venv/bin/python benchmarks/tenancy.py --skip-stock --keep  # no stock-executor run; keep the databases

It works in its own databases: crowdact_bench (N organisations; BENCH_DATABASE_URL) and crowdact_bench_one
(a single organisation, for the request comparison), dropped and created at the start and dropped at the
end unless --keep; it never touches `crowdact` or `test_crowdact`. No broker is needed: the benchmark
settings run Celery tasks eagerly and keep e-mails in memory.

Phases:
 0. create both databases, migrate their public schemas, provision the one organisation of crowdact_bench_one;
 1. provision N organisations through `tenants.services.organization_create`, timing each one;
 2. `manage.py migrate_schemas --noinput` with nothing to do: our executor, then stock django-tenants;
 3. one new migration (benchmarks.benchapp 0001_initial) applied to every schema, then nothing to do again;
 4. requests/s of a trivial tenant page through gunicorn (2 sync workers per database): the database with
    1 organisation vs the one with N, Host header rotating over all N (and always the same Host), plus the
    1-organisation configuration a second time as an A/A control of the noise. The configurations take
    turns in short slices, so drifts of a shared machine hit them alike; CPU time per request (gunicorn
    workers + PostgreSQL backends, from /proc) is printed too, as it hardly moves with other work.

Each phase prints its highest 1-minute load average; above the CPU count the summary warns that the times
are inflated by other work.
"""

# ruff: noqa: T201, S603, S607

import argparse
import http.client
import math
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PRODUCT_SETTINGS = "benchmarks.settings_product"  # the product's apps only
BENCH_SETTINGS = "benchmarks.settings"  # plus benchmarks.benchapp (one new tenant migration)
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/crowdact_bench"
PROTECTED_DATABASES = frozenset({"crowdact", "test_crowdact", "postgres", "template0", "template1"})
PING_PATH = "/bench/ping"

# Targets from the brief.
PROVISION_MEDIAN_TARGET_S = 1.0
PROVISION_GROWTH_LIMIT = 1.25  # last-20 median / first-20 median above this counts as growth
NOOP_MIGRATE_TARGET_S = 5.0
HTTP_RATIO_TOLERANCE = 0.10  # 200-organisation throughput within ±10 % of 1-organisation


# --------------------------------------------------------------------------------------------------
# Small helpers


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else math.nan


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def heading(text: str) -> None:
    print(f"\n=== {text}", flush=True)


def line(text: str = "") -> None:
    print(text, flush=True)


class Phases:
    """Wall time and load average per phase, printed at the end.

    Other work on the machine inflates every figure: the 1-minute load average is sampled in the
    background so the summary can say when the run was not alone.
    """

    def __init__(self) -> None:
        self.times: list[tuple[str, float, float]] = []
        self.loads: list[float] = []
        self._stop = threading.Event()
        self._sampler = threading.Thread(target=self._sample, daemon=True)
        self._sampler.start()

    def _sample(self) -> None:
        while not self._stop.wait(5):
            self.loads.append(os.getloadavg()[0])

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        heading(name)
        start = time.perf_counter()
        first = len(self.loads)
        try:
            yield
        finally:
            elapsed = time.perf_counter() - start
            samples = self.loads[first:] or [os.getloadavg()[0]]
            self.times.append((name, elapsed, max(samples)))
            line(f"[phase time: {elapsed:.1f} s; highest 1-minute load average: {max(samples):.2f}]")

    def busiest(self) -> float:
        self._stop.set()
        return max(self.loads, default=os.getloadavg()[0])


# --------------------------------------------------------------------------------------------------
# Database and subprocesses


def database_url() -> str:
    """The benchmark database with N organisations."""
    return os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL)


def database_name(url: str) -> str:
    name = urlsplit(url).path.lstrip("/")
    if not name or name in PROTECTED_DATABASES:
        raise SystemExit(f"Refusing to benchmark in the database {name!r}: use a dedicated one.")
    return name


def one_organization_database_url() -> str:
    """A second benchmark database holding a single organisation, for the request comparison."""
    parts = urlsplit(database_url())
    return urlunsplit(parts._replace(path=f"/{database_name(database_url())}_one"))


def database_admin(statement: str) -> None:
    """Run one statement on the server's maintenance database (CREATE / DROP DATABASE)."""
    import psycopg
    from psycopg.conninfo import make_conninfo

    with psycopg.connect(make_conninfo(database_url(), dbname="postgres"), autocommit=True) as conn:
        conn.execute(statement)


def database_recreate(url: str) -> None:
    name = database_name(url)
    database_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    database_admin(f'CREATE DATABASE "{name}"')


def database_drop(url: str) -> None:
    database_admin(f'DROP DATABASE IF EXISTS "{database_name(url)}" WITH (FORCE)')


def child_env(settings_module: str, database: str, **extra: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"BENCH_STOCK_EXECUTOR", "DJANGO_SETTINGS_MODULE"}
    }
    env.update(
        DJANGO_SETTINGS_MODULE=settings_module,
        BENCH_DATABASE_URL=database,
        DATABASE_URL=database,
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


@dataclass
class CommandRun:
    seconds: float
    output: str
    timed_out: bool = False


def manage(
    args: Sequence[str],
    settings_module: str,
    *,
    database: str | None = None,
    timeout: float = 600,
    **extra_env: str,
) -> CommandRun:
    """Run `python manage.py ARGS` and time it from start to exit; fail loudly on a non-zero exit."""
    command = [sys.executable, str(ROOT / "manage.py"), *args]
    start = time.perf_counter()
    try:
        done = subprocess.run(
            command,
            cwd=ROOT,
            env=child_env(settings_module, database or database_url(), **extra_env),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout or ""
        return CommandRun(
            time.perf_counter() - start, out if isinstance(out, str) else out.decode(), timed_out=True
        )
    elapsed = time.perf_counter() - start
    output = done.stdout + done.stderr
    if done.returncode != 0:
        tail = "\n".join(output.splitlines()[-40:])
        raise SystemExit(f"`manage.py {' '.join(args)}` failed ({done.returncode}):\n{tail}")
    return CommandRun(elapsed, output)


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


def load_average() -> str:
    return ", ".join(f"{value:.2f}" for value in os.getloadavg())


def pending_summary(output: str) -> str:
    found = re.findall(r"^\d+ of \d+ schemas have migrations to apply\.$", output, re.MULTILINE)
    return "; ".join(found) if found else "(no summary line: stock executor)"


# --------------------------------------------------------------------------------------------------
# Phase 1: provisioning


def django_setup() -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = PRODUCT_SETTINGS
    os.environ["BENCH_DATABASE_URL"] = database_url()
    os.environ.pop("BENCH_STOCK_EXECUTOR", None)
    import django

    django.setup()


def slug_for(index: int) -> str:
    return f"bench-{index:04d}"


def provision(index: int) -> float:
    from tenants.services import organization_create

    slug = slug_for(index)
    start = time.perf_counter()
    organization_create(
        slug=slug, name=f"Bench {index:04d}", kind="company", admin_email=f"admin@{slug}.test"
    )
    return time.perf_counter() - start


def describe(values: Sequence[float]) -> str:
    return (
        f"median {median(values):.3f} s, p95 {percentile(values, 0.95):.3f} s, "
        f"min {min(values):.3f} s, max {max(values):.3f} s"
    )


# --------------------------------------------------------------------------------------------------
# Schema inspection (main process, raw SQL on the public schema)


def tenant_schemas() -> list[str]:
    from django.db import connection

    from tenants.db import tenant_connection

    tenant_connection().set_schema_to_public()
    with connection.cursor() as cursor:
        cursor.execute("SELECT schema_name FROM tenants_organization ORDER BY schema_name")
        return [row[0] for row in cursor.fetchall()]


def applied_migrations(schemas: Sequence[str]) -> dict[str, set[str]]:
    """Every schema's django_migrations, as {schema: {"app.name", ...}}, in one statement."""
    from django.db import connection
    from django_tenants.utils import quote_schema_name

    from tenants.db import tenant_connection

    tenant_connection().set_schema_to_public()
    result: dict[str, set[str]] = {schema: set() for schema in schemas}
    parts = [
        f"SELECT %s, app || '.' || name FROM {quote_schema_name(schema)}.django_migrations"  # noqa: S608
        for schema in schemas
    ]
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts), list(schemas))
        for schema, migration in cursor.fetchall():
            result[schema].add(migration)
    return result


def schemas_with_table(table: str) -> set[str]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT n.nspname FROM pg_catalog.pg_class c "
            "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relname = %s AND c.relkind = 'r'",
            [table],
        )
        return {row[0] for row in cursor.fetchall()}


def catalogue_size() -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT (SELECT count(*) FROM pg_catalog.pg_class),"
            " (SELECT count(*) FROM pg_catalog.pg_attribute),"
            " (SELECT count(*) FROM pg_catalog.pg_namespace)"
        )
        classes, attributes, namespaces = cursor.fetchone() or (0, 0, 0)
    return f"pg_class {classes} rows, pg_attribute {attributes} rows, {namespaces} schemas"


def table_list_ms(schema: str, repeat: int = 20) -> float:
    """Mean time of Django's table-list introspection in one schema: `migrate` runs it several times
    per schema, and it scans pg_class, which grows with every schema."""
    from django.db import connection

    from tenants.db import tenant_connection

    tenant_connection().set_schema(schema, include_public=False)
    try:
        connection.introspection.table_names()
        start = time.perf_counter()
        for _ in range(repeat):
            connection.introspection.table_names()
        return (time.perf_counter() - start) / repeat * 1000
    finally:
        tenant_connection().set_schema_to_public()


# --------------------------------------------------------------------------------------------------
# Phase 4: HTTP


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def host_for(slug: str) -> str:
    from django.conf import settings

    return f"{slug}.{settings.BASE_DOMAIN}"


def http_get(port: int, host: str, path: str, timeout: float = 5) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path, headers={"Host": host})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


@dataclass
class Server:
    port: int
    pid: int  # gunicorn's master process
    database: str


@contextmanager
def gunicorn(
    settings_module: str, database: str, probe_host: str, workers: int, log_dir: Path
) -> Iterator[Server]:
    """A gunicorn with `workers` sync workers on 127.0.0.1 and a free port."""
    port = free_port()
    log_path = log_dir / f"gunicorn-{port}.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "config.wsgi:application",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(workers),
                "--worker-class",
                "sync",
                "--log-level",
                "warning",
                "--graceful-timeout",
                "5",
            ],
            cwd=ROOT,
            env=child_env(settings_module, database),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 60
            while True:
                if process.poll() is not None:
                    raise SystemExit(
                        f"gunicorn exited ({process.returncode}):\n{log_path.read_text()[-3000:]}"
                    )
                try:
                    status, _ = http_get(port, probe_host, PING_PATH)
                except OSError:
                    status = 0
                if status == 200:
                    break
                if time.monotonic() > deadline:
                    raise SystemExit(f"gunicorn did not answer in 60 s:\n{log_path.read_text()[-3000:]}")
                time.sleep(0.2)
            yield Server(port, process.pid, database)
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def process_cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process, from /proc (Linux); None when it cannot be read."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class CpuMeter:
    """CPU spent serving: a server's gunicorn workers plus the PostgreSQL backends of its database.

    Unlike requests/s this hardly moves when other work shares the machine. Linux only (/proc);
    PostgreSQL must run on this machine. A backend that ends during a slice loses that slice's
    share (CONN_MAX_AGE recycles each worker's connection once a minute).
    """

    def __init__(self, server: Server) -> None:
        import psycopg

        self.server = server
        self.available = process_cpu_seconds(server.pid) is not None
        self.connection = psycopg.connect(server.database, autocommit=True)

    def close(self) -> None:
        self.connection.close()

    def _pids(self) -> list[int]:
        workers = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == self.server.pid:
                    workers.append(int(stat.parent.name))
            except (OSError, IndexError, ValueError):
                continue
        rows = self.connection.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND backend_type = 'client backend' AND pid <> pg_backend_pid()"
        ).fetchall()
        return workers + [row[0] for row in rows]

    def snapshot(self) -> dict[int, float]:
        if not self.available:
            return {}
        cpu = {pid: process_cpu_seconds(pid) for pid in self._pids()}
        return {pid: value for pid, value in cpu.items() if value is not None}

    @staticmethod
    def spent(before: dict[int, float], after: dict[int, float]) -> float:
        if not after:
            return math.nan
        return sum(value - before.get(pid, 0.0) for pid, value in after.items())


@dataclass
class LoadResult:
    ok: int
    errors: int
    seconds: float
    latencies: list[float]
    cpu_seconds: float = math.nan  # gunicorn workers + PostgreSQL backends, when measured

    @property
    def cpu_ms_per_request(self) -> float:
        answered = self.ok + self.errors
        return self.cpu_seconds / answered * 1000 if answered else math.nan

    @property
    def rps(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0

    @classmethod
    def merge(cls, results: Sequence["LoadResult"]) -> "LoadResult":
        return cls(
            ok=sum(result.ok for result in results),
            errors=sum(result.errors for result in results),
            seconds=sum(result.seconds for result in results),
            latencies=[value for result in results for value in result.latencies],
            cpu_seconds=sum(result.cpu_seconds for result in results),
        )


def load(
    port: int,
    hosts: Sequence[str],
    schemas: Sequence[str],
    *,
    seconds: float,
    concurrency: int,
    max_requests: int,
) -> LoadResult:
    """Closed-loop load: `concurrency` threads, each sending its next request when the last one ends.

    Host headers rotate over `hosts`; an answer counts as an error unless it is 200 and names the
    expected schema. Bounded by time and by `max_requests`.
    """
    expected = [schema.encode() for schema in schemas]
    per_thread = max(1, max_requests // concurrency)
    latencies: list[list[float]] = [[] for _ in range(concurrency)]
    errors = [0] * concurrency
    start_gate = threading.Barrier(concurrency + 1)
    bounds: dict[str, float] = {}

    def worker(number: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        mine = latencies[number]
        index = number * len(hosts) // concurrency
        start_gate.wait()
        deadline = bounds["deadline"]
        sent = 0
        while sent < per_thread:
            began = time.perf_counter()
            if began >= deadline:
                break
            slot = index % len(hosts)
            index += 1
            sent += 1
            try:
                conn.request("GET", PING_PATH, headers={"Host": hosts[slot]})
                response = conn.getresponse()
                body = response.read()
                good = response.status == 200 and body.split(b" ", 1)[0] == expected[slot]
            except (OSError, http.client.HTTPException):
                conn.close()
                good = False
            mine.append(time.perf_counter() - began)
            if not good:
                errors[number] += 1
        conn.close()

    threads = [threading.Thread(target=worker, args=(n,), daemon=True) for n in range(concurrency)]
    for thread in threads:
        thread.start()
    started = time.perf_counter()
    bounds["deadline"] = started + seconds
    start_gate.wait()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    all_latencies = [value for per in latencies for value in per]
    error_count = sum(errors)
    return LoadResult(
        ok=len(all_latencies) - error_count, errors=error_count, seconds=elapsed, latencies=all_latencies
    )


@dataclass
class HttpConfig:
    label: str
    database: str  # served by its own gunicorn
    hosts: list[str]
    schemas: list[str]


@dataclass
class HttpSummary:
    label: str
    runs: list[LoadResult]

    @property
    def rps(self) -> float:
        return median([run.rps for run in self.runs])

    @property
    def p50_ms(self) -> float:
        return median([percentile(run.latencies, 0.50) * 1000 for run in self.runs])

    @property
    def p99_ms(self) -> float:
        return median([percentile(run.latencies, 0.99) * 1000 for run in self.runs])

    @property
    def errors(self) -> int:
        return sum(run.errors for run in self.runs)

    @property
    def cpu_ms(self) -> float:
        return median([run.cpu_ms_per_request for run in self.runs])

    def row(self) -> str:
        per_run = ", ".join(f"{run.rps:.0f}" for run in self.runs)
        return (
            f"{self.label:<44} {self.rps:6.0f} req/s  p50 {self.p50_ms:6.2f} ms  p99 {self.p99_ms:6.2f} ms  "
            f"CPU {self.cpu_ms:5.2f} ms/req  errors {self.errors}  (runs: {per_run} req/s)"
        )


def http_benchmark(
    configs: Sequence[HttpConfig], args: argparse.Namespace, log_dir: Path
) -> list[HttpSummary]:
    """One gunicorn per database, all started up front; a warm-up per configuration, then rounds.

    In each round every configuration gets http_seconds of load, in http_slices slices taken in turn
    (A B C A B C ...), so the drifts of a shared machine (other processes, autovacuum, checkpoints)
    hit every configuration alike.
    """
    results = {config.label: HttpSummary(config.label, []) for config in configs}
    with ExitStack() as stack:
        servers: dict[str, Server] = {}
        meters: dict[str, CpuMeter] = {}
        for config in configs:
            if config.database not in servers:
                server = stack.enter_context(
                    gunicorn(PRODUCT_SETTINGS, config.database, config.hosts[0], args.http_workers, log_dir)
                )
                servers[config.database] = server
                meters[config.database] = CpuMeter(server)
                stack.callback(meters[config.database].close)

        def measure(config: HttpConfig, seconds: float) -> LoadResult:
            meter = meters[config.database]
            before = meter.snapshot()
            result = load(
                servers[config.database].port,
                config.hosts,
                config.schemas,
                seconds=seconds,
                concurrency=args.http_concurrency,
                max_requests=args.http_max_requests,
            )
            result.cpu_seconds = meter.spent(before, meter.snapshot())
            return result

        for config in configs:
            warm = measure(config, args.http_warmup)
            line(f"  warm-up  {config.label:<44} {warm.rps:6.0f} req/s, {warm.errors} errors")
        slice_seconds = args.http_seconds / args.http_slices
        for number in range(1, args.http_runs + 1):
            # A round gives each configuration http_seconds, cut into slices taken in turn.
            parts: dict[str, list[LoadResult]] = {config.label: [] for config in configs}
            for _ in range(args.http_slices):
                for config in configs:
                    parts[config.label].append(measure(config, slice_seconds))
            for config in configs:
                result = LoadResult.merge(parts[config.label])
                results[config.label].runs.append(result)
                line(
                    f"  round {number}  {config.label:<44} {result.rps:6.0f} req/s, "
                    f"p50 {percentile(result.latencies, 0.5) * 1000:5.2f} ms, "
                    f"p99 {percentile(result.latencies, 0.99) * 1000:6.2f} ms, "
                    f"CPU {result.cpu_ms_per_request:5.2f} ms/req, {result.errors} errors, "
                    f"{result.ok + result.errors} requests"
                )
    return list(results.values())


def round_ratios(numerator: HttpSummary, denominator: HttpSummary) -> list[float]:
    return [a.rps / b.rps for a, b in zip(numerator.runs, denominator.runs, strict=True) if b.rps]


# --------------------------------------------------------------------------------------------------
# The benchmark


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--organizations", type=int, default=200, help="organisations to provision (200)")
    parser.add_argument("--skip-stock", action="store_true", help="skip the stock django-tenants migrate run")
    parser.add_argument("--stock-timeout", type=float, default=300, help="give up on the stock run after (s)")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark databases at the end")
    parser.add_argument("--migrate-runs", type=int, default=3, help="runs of each nothing-to-migrate timing")
    parser.add_argument("--http-seconds", type=float, default=10, help="load per configuration per run (s)")
    parser.add_argument("--http-warmup", type=float, default=3, help="warm-up per configuration (s)")
    parser.add_argument("--http-runs", type=int, default=3, help="rounds (runs per configuration)")
    parser.add_argument(
        "--http-slices",
        type=int,
        default=10,
        help="each run is cut into this many slices, taken in turn with the other configurations",
    )
    parser.add_argument("--http-concurrency", type=int, default=4, help="load-generator threads")
    parser.add_argument("--http-workers", type=int, default=2, help="gunicorn sync workers")
    parser.add_argument(
        "--http-max-requests", type=int, default=100_000, help="upper bound on requests per load run"
    )
    args = parser.parse_args(argv)
    if args.organizations < 2:
        parser.error("--organizations must be at least 2")
    return args


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    n = args.organizations
    many_db, one_db = database_url(), one_organization_database_url()
    phases = Phases()
    summary: list[str] = []
    total_start = time.perf_counter()
    log_dir = Path(tempfile.mkdtemp(prefix="crowdact-bench-"))
    line(
        f"Tenancy benchmark: {n} organisations in database {database_name(many_db)}, "
        f"1 organisation in {database_name(one_db)}; {os.cpu_count()} CPUs; server logs in {log_dir}"
    )
    line(
        f"Python {sys.version.split()[0]}; settings {PRODUCT_SETTINGS} (product apps), "
        f"{BENCH_SETTINGS} (+benchapp); code: {code_state()}"
    )

    try:
        with phases.phase("Phase 0: create the databases and migrate their public schemas"):
            for url in (many_db, one_db):
                database_recreate(url)
                run = manage(["migrate_schemas", "--shared", "--noinput"], PRODUCT_SETTINGS, database=url)
                line(f"{database_name(url)}: migrate_schemas --shared {run.seconds:.2f} s")
            run = manage(
                [
                    "create_organization",
                    slug_for(1),
                    "--name",
                    "Bench 0001",
                    "--kind",
                    "company",
                    "--admin-email",
                    f"admin@{slug_for(1)}.test",
                ],
                PRODUCT_SETTINGS,
                database=one_db,
            )
            line(f"{database_name(one_db)}: manage.py create_organization {slug_for(1)} {run.seconds:.2f} s")
            startup = [manage(["check"], PRODUCT_SETTINGS).seconds for _ in range(args.migrate_runs)]
            line(f"Process start-up baseline (`manage.py check`): median {median(startup):.2f} s")

        django_setup()
        from django.core import mail
        from django.db import connections

        with phases.phase(f"Phase 1: provision {n} organisations (tenants.services.organization_create)"):
            durations: list[float] = []
            for index in range(1, n + 1):
                durations.append(provision(index))
                if index % 50 == 0 or index == n:
                    recent = durations[max(0, index - 50) :]
                    line(f"  {index:4d} organisations; the last {len(recent)}: median {median(recent):.3f} s")
            window = min(20, n)
            first, last = durations[:window], durations[-window:]
            growth = median(last) / median(first)
            line(f"First {window}:  {describe(first)}")
            line(f"Last {window}:   {describe(last)}")
            line(f"All {n}:{' ' * max(1, 4 - len(str(n)))}{describe(durations)}")
            line(f"Growth (median of the last {window} / median of the first {window}): {growth:.2f}")
            sent = len(getattr(mail, "outbox", []))
            line(f"Invitation e-mails sent (eager Celery task, locmem backend): {sent} of {n}")
            line(f"Catalogue: {catalogue_size()}")
            line(
                f"Django table-list introspection in one schema: {table_list_ms(slug_for(1)):.1f} ms per call"
            )
            summary.append(
                f"{verdict(median(durations) < PROVISION_MEDIAN_TARGET_S)}  provisioning: median "
                f"{median(durations):.3f} s, p95 {percentile(durations, 0.95):.3f} s per organisation "
                f"(target < {PROVISION_MEDIAN_TARGET_S:.0f} s)"
            )
            summary.append(
                f"{verdict(growth <= PROVISION_GROWTH_LIMIT)}  provisioning growth, median last {window} / "
                f"first {window} = {growth:.2f} (target: no growth, <= {PROVISION_GROWTH_LIMIT})"
            )
            if sent != n:
                summary.append(f"FAIL  only {sent} of {n} invitation e-mails were sent")

        schemas = tenant_schemas()
        if len(schemas) != n:
            raise SystemExit(f"Expected {n} organisations, found {len(schemas)}.")
        connections.close_all()

        with phases.phase(f"Phase 2: migrate_schemas --noinput with nothing to do ({n} organisations)"):
            runs = [
                manage(["migrate_schemas", "--noinput"], PRODUCT_SETTINGS) for _ in range(args.migrate_runs)
            ]
            ours = median([run.seconds for run in runs])
            line(
                f"Our executor (tenants.migration_executor): runs "
                f"{', '.join(f'{run.seconds:.2f}' for run in runs)} s; median {ours:.2f} s"
            )
            line(f"  output: {pending_summary(runs[-1].output)}")
            summary.append(
                f"{verdict(ours < NOOP_MIGRATE_TARGET_S)}  nothing to migrate, our executor: {ours:.2f} s "
                f"(target < {NOOP_MIGRATE_TARGET_S:.0f} s)"
            )
            if args.skip_stock:
                line("Stock django-tenants executor: skipped (--skip-stock)")
            else:
                stock = manage(
                    ["migrate_schemas", "--noinput"],
                    PRODUCT_SETTINGS,
                    timeout=args.stock_timeout,
                    BENCH_STOCK_EXECUTOR="1",
                )
                if stock.timed_out:
                    line(
                        f"Stock django-tenants executor: stopped after {stock.seconds:.0f} s "
                        "(--stock-timeout)"
                    )
                    summary.append(f"INFO  nothing to migrate, stock django-tenants: > {stock.seconds:.0f} s")
                else:
                    migrated = stock.output.count("=== Starting migration")
                    line(
                        f"Stock django-tenants executor (one run): {stock.seconds:.2f} s "
                        f"({migrated} schemas went through `migrate`; {stock.seconds / ours:.1f}x ours)"
                    )
                    summary.append(
                        f"INFO  nothing to migrate, stock django-tenants: {stock.seconds:.2f} s "
                        f"({stock.seconds / ours:.1f}x ours)"
                    )

        with phases.phase(f"Phase 3: one new migration (benchapp 0001_initial) applied to {n} organisations"):
            before = applied_migrations(["public", *schemas])
            connections.close_all()
            run = manage(["migrate_schemas", "--noinput"], BENCH_SETTINGS)
            after = applied_migrations(["public", *schemas])
            added = {schema: after[schema] - before[schema] for schema in after}
            exact = [schema for schema in schemas if added[schema] == {"benchapp.0001_initial"}]
            tables = schemas_with_table("benchapp_benchnote") & set(schemas)
            line(f"Wall time: {run.seconds:.2f} s; per organisation: {run.seconds / n * 1000:.0f} ms")
            line(f"  output: {pending_summary(run.output)}")
            line(
                f"  check: {len(exact)} of {n} organisation schemas gained exactly benchapp.0001_initial; "
                f"{len(tables)} have the table benchapp_benchnote; public gained {sorted(added['public'])}"
            )
            summary.append(
                f"INFO  one new migration to {n} organisations: {run.seconds:.2f} s "
                f"({run.seconds / n * 1000:.0f} ms per organisation)"
            )
            if len(exact) != n or len(tables) != n:
                summary.append(f"FAIL  the new migration reached {len(exact)}/{len(tables)} of {n} schemas")
            connections.close_all()
            runs = [
                manage(["migrate_schemas", "--noinput"], BENCH_SETTINGS) for _ in range(args.migrate_runs)
            ]
            again = median([run.seconds for run in runs])
            line(
                f"Nothing to do again (benchmark settings): runs "
                f"{', '.join(f'{run.seconds:.2f}' for run in runs)} s; median {again:.2f} s"
            )
            line(f"  output: {pending_summary(runs[-1].output)}")
            summary.append(
                f"{verdict(again < NOOP_MIGRATE_TARGET_S)}  nothing to migrate after it: {again:.2f} s "
                f"(target < {NOOP_MIGRATE_TARGET_S:.0f} s)"
            )

        with phases.phase(
            f"Phase 4: requests through gunicorn ({args.http_workers} sync workers per database)"
        ):
            hosts = [host_for(schema) for schema in schemas]
            line(
                f"Load average before (1, 5, 15 min): {load_average()}; other work on the machine skews req/s"
            )
            line(
                f"GET {PING_PATH} (host routing + one query in the organisation's schema); "
                f"{args.http_concurrency} closed-loop client threads; {args.http_runs} rounds of "
                f"{args.http_seconds:.0f} s per configuration (in {args.http_slices} slices taken in turn) "
                f"after {args.http_warmup:.0f} s of warm-up"
            )
            # The control is the 1-organisation configuration measured a second time: how far it
            # lands from the first measurement is the noise of this run.
            one, rotating, control, fixed = http_benchmark(
                [
                    HttpConfig("1 organisation (database with 1)", one_db, hosts[:1], schemas[:1]),
                    HttpConfig(f"{n} organisations, Host rotating over all", many_db, hosts, schemas),
                    HttpConfig("1 organisation again (A/A control)", one_db, hosts[:1], schemas[:1]),
                    HttpConfig(f"{n} organisations, always the same Host", many_db, hosts[:1], schemas[:1]),
                ],
                args,
                log_dir,
            )
            line()
            line("Medians over the rounds:")
            for result in (one, rotating, control, fixed):
                line(f"  {result.row()}")
            # Ratios are taken within each round (the same minutes of the machine), then the median.
            ratio, control_ratio, fixed_ratio = 0.0, 0.0, 0.0
            for label, result in (
                (f"{n} rotating / 1", rotating),
                ("A/A control / 1 (noise)", control),
                (f"{n} in the database, same Host / 1", fixed),
            ):
                ratios = round_ratios(result, one)
                line(
                    f"Throughput ratio {label:<36} per round: "
                    f"{', '.join(f'{value:.3f}' for value in ratios)}; median {median(ratios):.3f} "
                    f"(ratio of the medians: {result.rps / one.rps:.3f})"
                )
                if result is rotating:
                    ratio = median(ratios)
                elif result is control:
                    control_ratio = median(ratios)
                else:
                    fixed_ratio = median(ratios)
            line(
                "CPU per request (gunicorn workers + PostgreSQL backends; barely moved by other work): "
                f"1 organisation {one.cpu_ms:.2f} ms, A/A control {control.cpu_ms:.2f} ms, "
                f"{n} rotating {rotating.cpu_ms:.2f} ms ({rotating.cpu_ms / one.cpu_ms:.3f}x), "
                f"{n} same Host {fixed.cpu_ms:.2f} ms ({fixed.cpu_ms / one.cpu_ms:.3f}x)"
            )
            line(f"Load average after phase 4 (1, 5, 15 min): {load_average()}")
            errors = one.errors + rotating.errors + control.errors + fixed.errors
            within = abs(ratio - 1) <= HTTP_RATIO_TOLERANCE
            if errors == 0 and not within and abs(control_ratio - 1) >= abs(ratio - 1):
                outcome = "INCONCLUSIVE (the A/A control is as far off: too much noise)"
            else:
                outcome = verdict(within and errors == 0)
            summary.append(
                f"{outcome}  requests/s with {n} organisations / with 1 = {ratio:.3f} "
                f"({rotating.rps:.0f} / {one.rps:.0f} req/s; "
                f"p50 {rotating.p50_ms:.2f} / {one.p50_ms:.2f} ms; "
                f"p99 {rotating.p99_ms:.2f} / {one.p99_ms:.2f} ms; "
                f"target 1 +/- {HTTP_RATIO_TOLERANCE:.2f}; {errors} errors)"
            )
            summary.append(
                f"INFO  same Host with {n} in the database / 1 = {fixed_ratio:.3f}; "
                f"A/A control = {control_ratio:.3f} (the noise of this run)"
            )
            summary.append(
                f"INFO  CPU per request, {n} rotating / 1 = {rotating.cpu_ms / one.cpu_ms:.3f} "
                f"({rotating.cpu_ms:.2f} / {one.cpu_ms:.2f} ms; "
                f"A/A control {control.cpu_ms / one.cpu_ms:.3f})"
            )
    finally:
        from django.conf import settings

        if settings.configured:
            from django.db import connections as final_connections

            final_connections.close_all()
        for url in (many_db, one_db):
            if args.keep:
                line(f"\nKept the database {database_name(url)} (--keep).")
            else:
                database_drop(url)
                line(f"\nDropped the database {database_name(url)}.")

    if not args.keep:
        shutil.rmtree(log_dir, ignore_errors=True)  # kept after a failure (the exception skips this)
    heading("Phase times (and the highest 1-minute load average seen)")
    for label, seconds, load in phases.times:
        line(f"  {label:<84} {seconds:7.1f} s   load {load:5.2f}")
    line(f"  {'Total':<84} {time.perf_counter() - total_start:7.1f} s")
    busiest, cpus = phases.busiest(), os.cpu_count() or 1
    if busiest > cpus:
        summary.append(
            f"WARN  other work shared the machine (1-minute load average up to {busiest:.2f} on {cpus} "
            "CPUs): times are inflated; the ratios are measured side by side and hold better"
        )
    heading("Summary")
    for entry in summary:
        line(f"  {entry}")
    return 1 if any(entry.startswith("FAIL") for entry in summary) else 0


if __name__ == "__main__":
    sys.exit(main())
