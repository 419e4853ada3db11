"""Tenancy benchmark: provisioning, `migrate_schemas` and per-request routing with N organisations.

Run from the project root (PostgreSQL on 127.0.0.1:5432, user postgres):

    .venv/bin/python -m benchmarks.tenancy                      # 200 organisations, ~6 minutes
    .venv/bin/python -m benchmarks.tenancy --organizations 50   # a few minutes
    .venv/bin/python -m benchmarks.tenancy --organizations 1000 # about 35 minutes on 2 cores
    .venv/bin/python -m benchmarks.tenancy --quick              # every phase, 6 organisations, < 1 minute
    .venv/bin/python -m benchmarks.tenancy --skip-stock --keep  # no stock-executor run; keep the databases

It works in its own databases: crowdact_bench (N organisations; BENCH_DATABASE_URL) and crowdact_bench_one
(a single organisation, for the request comparison), dropped and created at the start and dropped at the
end unless --keep; it never touches `crowdact` or the tests' databases, and a second run on the same
databases stops at once. No broker is needed: the benchmark settings run Celery tasks eagerly and keep
e-mails in memory.

Phases:
 0. create both databases, migrate their public schemas, provision the one organisation of crowdact_bench_one;
    print the PostgreSQL settings that many schemas depend on (max_locks_per_transaction) as they are;
 1. provision N organisations through `tenants.services.organization_create`, timing each one; growth is
    the median of the last hundred over the first hundred (the last/first 20, or all of them, below 200);
 2. `manage.py migrate_schemas --noinput` with nothing to do: our executor, then stock django-tenants;
 3. one new migration (benchmarks.benchapp 0001_initial) applied to every schema, then nothing to do again;
 4. requests/s of a trivial tenant page through gunicorn (2 sync workers per database): the database with
    1 organisation vs the one with N, Host header rotating over all N (and always the same Host), plus the
    1-organisation configuration a second time as an A/A control of the noise. The configurations take
    turns in short slices, so drifts of a shared machine hit them alike; CPU time per request (gunicorn
    workers + PostgreSQL backends, from /proc) is printed too, as it hardly moves with other work;
 5. PostgreSQL with N schemas: the table locks a whole-database pg_dump takes in one transaction against
    the lock table's size; and the memory of a new backend before and after it read, in every
    organisation's schema, the ping page's table, then (another new backend) every table: VmRSS and its
    private part RssAnon from /proc/<pg_backend_pid()>/status (PostgreSQL on this machine), and the sum
    of pg_backend_memory_contexts. A connection serving every organisation lies between the two.

Each phase prints its highest 1-minute load average; above the CPU count the summary warns that the times
are inflated by other work. --quick judges no speed target: it fails only when a phase breaks.
"""

# ruff: noqa: E402, S603

import argparse
import itertools
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import django
import psycopg

from benchmarks.harness import ROOT
from benchmarks.harness.databases import (
    child_env,
    database_drop,
    database_name,
    database_recreate,
    database_sibling,
    database_url,
    databases_claimed,
)
from benchmarks.harness.load import Request, Run, Series, alternating_rounds, closed_loop, round_ratios
from benchmarks.harness.report import (
    Phases,
    Summary,
    code_state,
    describe,
    line,
    load_average,
    median,
    percentile,
)
from benchmarks.harness.servers import CpuMeter, Server, gunicorn

PRODUCT_SETTINGS = "benchmarks.settings.product"  # the product's apps only
BENCH_SETTINGS = "benchmarks.settings.tenancy"  # plus benchmarks.benchapp (one new tenant migration)
DATABASE_VARIABLE = "BENCH_DATABASE_URL"
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/crowdact_bench"
PING_PATH = "/bench/ping"
PING_TABLE = "auth_group"  # Group.objects.count(): the one query of the ping page

# Targets from the brief.
PROVISION_MEDIAN_TARGET_S = 1.0
PROVISION_GROWTH_LIMIT = 1.25  # median of the last window / of the first above this counts as growth
NOOP_MIGRATE_TARGET_S = 5.0
HTTP_RATIO_TOLERANCE = 0.10  # 200-organisation throughput within ±10 % of 1-organisation

# The product, in one place: Django set up with the benchmark settings, then what this benchmark uses.
os.environ[DATABASE_VARIABLE] = database_url(DATABASE_VARIABLE, DEFAULT_DATABASE_URL)
os.environ["DJANGO_SETTINGS_MODULE"] = PRODUCT_SETTINGS
os.environ.pop("BENCH_STOCK_EXECUTOR", None)
django.setup()

from django.conf import settings
from django.core import mail
from django.db import connection, connections
from django_tenants.utils import quote_schema_name

from tenants.db import tenant_connection
from tenants.services import organization_create

if settings.SETTINGS_MODULE != PRODUCT_SETTINGS:  # Django was set up before this import
    raise ImportError(f"benchmarks.tenancy runs with {PRODUCT_SETTINGS}, not {settings.SETTINGS_MODULE}")


# --------------------------------------------------------------------------------------------------
# Subprocesses and schemas


def database_urls() -> tuple[str, str]:
    """The database with N organisations, and the one with a single organisation."""
    many = os.environ[DATABASE_VARIABLE]
    return many, database_sibling(many, "_one")


@dataclass
class CommandRun:
    seconds: float
    output: str
    timed_out: bool = False


def manage(
    args: Sequence[str], settings_module: str, *, database: str, timeout: float = 600, **extra_env: str
) -> CommandRun:
    """Run `python manage.py ARGS` and time it from start to exit; fail loudly on a non-zero exit."""
    command = [sys.executable, str(ROOT / "manage.py"), *args]
    env = child_env(
        settings_module, without={"BENCH_STOCK_EXECUTOR"}, BENCH_DATABASE_URL=database, DATABASE_URL=database
    )
    start = time.perf_counter()
    try:
        done = subprocess.run(
            command,
            cwd=ROOT,
            env={**env, **extra_env},
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


def pending_summary(output: str) -> str:
    found = re.findall(r"^\d+ of \d+ schemas have migrations to apply\.$", output, re.MULTILINE)
    return "; ".join(found) if found else "(no summary line: stock executor)"


def slug_for(index: int) -> str:
    return f"bench-{index:04d}"


def provision(index: int) -> float:
    slug = slug_for(index)
    start = time.perf_counter()
    organization_create(
        slug=slug, name=f"Bench {index:04d}", kind="company", admin_email=f"admin@{slug}.test"
    )
    return time.perf_counter() - start


def tenant_schemas() -> list[str]:
    tenant_connection().set_schema_to_public()
    with connection.cursor() as cursor:
        cursor.execute("SELECT schema_name FROM tenants_organization ORDER BY schema_name")
        return [row[0] for row in cursor.fetchall()]


def applied_migrations(schemas: Sequence[str]) -> dict[str, set[str]]:
    """Every schema's django_migrations, as {schema: {"app.name", ...}}, in one statement."""
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
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT n.nspname FROM pg_catalog.pg_class c "
            "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relname = %s AND c.relkind = 'r'",
            [table],
        )
        return {row[0] for row in cursor.fetchall()}


def catalogue_size() -> str:
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
    tenant_connection().set_schema(schema, include_public=False)
    try:
        connection.introspection.table_names()
        start = time.perf_counter()
        for _ in range(repeat):
            connection.introspection.table_names()
        return (time.perf_counter() - start) / repeat * 1000
    finally:
        tenant_connection().set_schema_to_public()


def growth_window(n: int) -> int:
    """Provisioning growth compares the first and the last `window` organisations: hundreds from 200
    organisations on, 20 below, all of them in a run of fewer than 20."""
    return 100 if n >= 200 else min(20, n)


# --------------------------------------------------------------------------------------------------
# PostgreSQL: settings, locks and connection memory

LOCK_SETTINGS = ("max_locks_per_transaction", "max_connections", "max_prepared_transactions")
# With max_connections, the backends the lock table is sized for (PostgreSQL's MaxBackends).
OTHER_BACKENDS = ("autovacuum_max_workers", "max_worker_processes", "max_wal_senders")


def postgres_settings(conn: psycopg.Connection) -> dict[str, str]:
    rows = conn.execute(
        "SELECT name, setting FROM pg_catalog.pg_settings WHERE name = ANY(%s)",
        [["server_version", *LOCK_SETTINGS, *OTHER_BACKENDS]],
    ).fetchall()
    return dict(rows)


def lock_table_slots(values: Mapping[str, str]) -> int:
    """The shared lock table's size, max_locks_per_transaction x (MaxBackends + prepared transactions):
    one transaction may use any part of it (and a little spare shared memory beyond)."""
    backends = int(values["max_connections"]) + 1 + sum(int(values[name]) for name in OTHER_BACKENDS)
    return int(values["max_locks_per_transaction"]) * (backends + int(values["max_prepared_transactions"]))


def postgres_settings_line(values: Mapping[str, str]) -> str:
    named = ", ".join(f"{name} {values[name]}" for name in LOCK_SETTINGS)
    return (
        f"PostgreSQL {values['server_version']}: {named}: a lock table of about "
        f"{lock_table_slots(values):,} locks"
    )


def tables_by_schema(conn: psycopg.Connection, schemas: Iterable[str]) -> dict[str, list[str]]:
    result: dict[str, list[str]] = {schema: [] for schema in schemas}
    rows = conn.execute(
        "SELECT n.nspname, c.relname FROM pg_catalog.pg_class c "
        "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
        "WHERE c.relkind IN ('r', 'p') AND n.nspname = ANY(%s) ORDER BY 1, 2",
        [list(result)],
    ).fetchall()
    for schema, table in rows:
        result[schema].append(table)
    return result


@dataclass
class BackendMemory:
    vm_rss_kb: int | None  # /proc/<pid>/status: resident, including the shared buffers it mapped
    rss_anon_kb: int | None  # its private part: what this connection costs
    contexts_bytes: int | None  # pg_backend_memory_contexts, every context
    cache_bytes: int | None  # CacheMemoryContext and its children (relation and catalogue caches)

    def text(self) -> str:
        def mb(kb: int | None) -> str:
            return "n/a" if kb is None else f"{kb / 1024:.1f} MB"

        return (
            f"VmRSS {mb(self.vm_rss_kb)}, RssAnon {mb(self.rss_anon_kb)}; memory contexts "
            f"{mb(None if self.contexts_bytes is None else self.contexts_bytes // 1024)} "
            f"(caches {mb(None if self.cache_bytes is None else self.cache_bytes // 1024)})"
        )


def backend_memory(conn: psycopg.Connection) -> BackendMemory:
    row = conn.execute("SELECT pg_backend_pid()").fetchone()
    proc = Path(f"/proc/{row[0] if row else 0}")
    status: dict[str, int] = {}
    try:
        if "postgres" not in (proc / "cmdline").read_text():  # the same pid on another machine
            raise FileNotFoundError(proc)
        for entry in (proc / "status").read_text().splitlines():
            key, _, value = entry.partition(":")
            if key in {"VmRSS", "RssAnon"}:
                status[key] = int(value.split()[0])  # kB
    except OSError:  # PostgreSQL on another machine (or in a container): /proc has no such process
        pass
    try:
        total, cache = conn.execute(
            "SELECT sum(total_bytes), sum(total_bytes) FILTER "
            "(WHERE name = 'CacheMemoryContext' OR parent = 'CacheMemoryContext') "
            "FROM pg_catalog.pg_backend_memory_contexts"
        ).fetchone() or (None, None)
    except psycopg.Error:  # the view needs superuser or pg_read_all_stats
        total, cache = None, None
    return BackendMemory(
        status.get("VmRSS"),
        status.get("RssAnon"),
        None if total is None else int(total),
        None if cache is None else int(cache),
    )


def schema_touch(conn: psycopg.Connection, schema: str, tables: Sequence[str]) -> None:
    """Read one row of every table of the schema in one statement, as a long-lived connection that
    served every page of the organisation would have: each table opened enters the backend's caches."""
    quoted = quote_schema_name(schema)
    parts = [f'(SELECT 1 FROM {quoted}."{table}" LIMIT 1)' for table in tables]  # noqa: S608
    if parts:
        conn.execute(" UNION ALL ".join(parts)).fetchall()


def postgres_phase(schemas: list[str], many_db: str, summary: Summary) -> None:
    n = len(schemas)
    with psycopg.connect(many_db, autocommit=True) as conn:
        values = postgres_settings(conn)
        line(postgres_settings_line(values))
        tables = tables_by_schema(conn, ["public", *schemas])
        per_schema = sorted(len(tables[schema]) for schema in schemas)
        total = sum(len(names) for names in tables.values())
        slots = lock_table_slots(values)
        line(
            f"Tables: {len(tables['public'])} in public, {median(per_schema):.0f} per organisation schema; "
            f"{total:,} in all, each locked by a whole-database pg_dump in one transaction "
            f"({total / slots:.0%} of the lock table)"
        )
        summary.info(
            f"max_locks_per_transaction = {values['max_locks_per_transaction']} (a lock table of about "
            f"{slots:,}); a whole-database pg_dump locks {total:,} tables"
            + ("" if total < slots else ": more than fit, it fails with 'out of shared memory'")
        )

    # What the ping page reads (auth_group), then every table: a connection's growth lies between the
    # two, as it served one page or every page of each organisation.
    ping_table = {schema: [PING_TABLE] for schema in schemas}
    one = memory_growth(many_db, schemas, ping_table, f"{PING_TABLE} (the ping page's table)")
    every = memory_growth(many_db, schemas, tables, "every table")
    for label, (before, after) in (
        (f"{PING_TABLE} of each schema", one),
        ("every table of each schema", every),
    ):
        summary.info(
            f"connection memory after reading {label} of {n} organisations: {memory_change(before, after, n)}"
        )


def memory_growth(
    database: str, schemas: Sequence[str], tables: Mapping[str, Sequence[str]], label: str
) -> tuple[BackendMemory, BackendMemory]:
    """A new connection (nothing but this measure fills its caches) reads `tables` of every schema in
    turn; its memory, new and after each checkpoint."""
    n = len(schemas)
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute("SELECT 1 FROM public.tenants_organization LIMIT 1").fetchall()
        before = after = backend_memory(conn)
        line(f"One backend, new connection, then reading {label} of each schema:")
        line(f"  {'new:':<24}{before.text()}")
        checkpoints = {1, max(1, n // 10), max(1, n // 2), n}
        start = time.perf_counter()
        for index, schema in enumerate(schemas, start=1):
            schema_touch(conn, schema, tables[schema])
            if index in checkpoints:
                after = backend_memory(conn)
                line(f"  {f'after {index:4d} of {n}:':<24}{after.text()}")
        line(f"  ({time.perf_counter() - start:.1f} s on that one connection)")
    return before, after


def memory_change(before: BackendMemory, after: BackendMemory, n: int) -> str:
    if before.rss_anon_kb is not None and after.rss_anon_kb is not None:
        grown = after.rss_anon_kb - before.rss_anon_kb
        return (
            f"RssAnon {before.rss_anon_kb / 1024:.1f} -> {after.rss_anon_kb / 1024:.1f} MB "
            f"(+{grown / n:.0f} kB per organisation; /proc/<pid>/status of the backend); VmRSS "
            f"{(before.vm_rss_kb or 0) / 1024:.1f} -> {(after.vm_rss_kb or 0) / 1024:.1f} MB, "
            "shared buffers included"
        )
    if before.contexts_bytes is not None and after.contexts_bytes is not None:
        return (
            f"pg_backend_memory_contexts {before.contexts_bytes / 2**20:.1f} -> "
            f"{after.contexts_bytes / 2**20:.1f} MB (/proc unreadable: PostgreSQL runs elsewhere)"
        )
    return "neither /proc nor pg_backend_memory_contexts could be read"


# --------------------------------------------------------------------------------------------------
# Phase 4: HTTP


def host_for(slug: str) -> str:
    return f"{slug}.{settings.BASE_DOMAIN}"


@dataclass
class HttpConfig:
    label: str
    database: str  # served by its own gunicorn
    hosts: list[str]
    schemas: list[str]


def ping_load(server: Server, config: HttpConfig, args: argparse.Namespace, seconds: float) -> Run:
    """Closed-loop GETs of the ping page, the Host header rotating over the configuration's hosts; an
    answer counts as an error unless it is 200 and names the expected schema."""
    schema_of = {host: schema.encode() for host, schema in zip(config.hosts, config.schemas, strict=True)}
    requests = [Request("GET", PING_PATH, {"Host": host}) for host in config.hosts]
    turn = itertools.count()

    def next_request() -> Request:
        return requests[next(turn) % len(requests)]

    def good(request: Request, status: int, body: bytes) -> bool:
        return status == 200 and body.split(b" ", 1)[0] == schema_of[request.headers["Host"]]

    return closed_loop(
        server.port,
        concurrency=args.http_concurrency,
        next_request=next_request,
        good=good,
        seconds=seconds,
        requests=args.http_max_requests,
        timeout=10,
    )


def http_benchmark(configs: Sequence[HttpConfig], args: argparse.Namespace, log_dir: Path) -> list[Series]:
    """One gunicorn per database, all started up front; a warm-up per configuration, then rounds.

    In each round every configuration gets http_seconds of load, in http_slices slices taken in turn
    (A B C A B C ...), so the drifts of a shared machine (other processes, autovacuum, checkpoints)
    hit every configuration alike.
    """
    by_label = {config.label: config for config in configs}
    with ExitStack() as stack:
        servers: dict[str, Server] = {}
        meters: dict[str, CpuMeter] = {}
        for config in configs:
            if config.database not in servers:
                env = child_env(
                    PRODUCT_SETTINGS,
                    without={"BENCH_STOCK_EXECUTOR"},
                    BENCH_DATABASE_URL=config.database,
                    DATABASE_URL=config.database,
                )
                server = stack.enter_context(
                    gunicorn(
                        env,
                        workers=args.http_workers,
                        log_dir=log_dir,
                        probe_host=config.hosts[0],
                        probe_path=PING_PATH,
                        config=None,  # gunicorn's defaults, as the README's figures were measured
                        log_level="warning",
                    )
                )
                servers[config.database] = server
                meters[config.database] = CpuMeter(server, config.database)
                stack.callback(meters[config.database].close)

        def measure(label: str, seconds: float) -> Run:
            config = by_label[label]
            meter = meters[config.database]
            before = meter.snapshot()
            result = ping_load(servers[config.database], config, args, seconds)
            result.cpu_seconds = meter.spent(before, meter.snapshot())
            return result

        def after_round(number: int, results: Mapping[str, Run]) -> None:
            for label, result in results.items():
                line(
                    f"  round {number}  {label:<44} {result.rps:6.0f} req/s, "
                    f"p50 {result.ms(0.5):5.2f} ms, p99 {result.ms(0.99):6.2f} ms, "
                    f"CPU {result.cpu_ms_per_request:5.2f} ms/req, {result.errors} errors, "
                    f"{result.ok + result.errors} requests"
                )

        for config in configs:
            warm = measure(config.label, args.http_warmup)
            line(f"  warm-up  {config.label:<44} {warm.rps:6.0f} req/s, {warm.errors} errors")
        return alternating_rounds(
            measure,
            list(by_label),
            rounds=args.http_runs,
            seconds=args.http_seconds,
            slices=args.http_slices,
            after_round=after_round,
        )


# --------------------------------------------------------------------------------------------------
# The benchmark


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.tenancy",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--quick", action="store_true", help="every phase with small data and short loads; no speed verdict"
    )
    parser.add_argument(
        "--organizations", type=int, default=None, help="organisations to provision (200; quick 6)"
    )
    parser.add_argument("--skip-stock", action="store_true", help="skip the stock django-tenants migrate run")
    parser.add_argument("--stock-timeout", type=float, default=300, help="give up on the stock run after (s)")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark databases at the end")
    parser.add_argument(
        "--migrate-runs", type=int, default=None, help="runs of each nothing-to-migrate timing (3; quick 1)"
    )
    parser.add_argument(
        "--http-seconds", type=float, default=None, help="load per configuration per run (10 s; quick 2)"
    )
    parser.add_argument(
        "--http-warmup", type=float, default=None, help="warm-up per configuration (3 s; quick 0.5)"
    )
    parser.add_argument("--http-runs", type=int, default=None, help="rounds (runs per configuration; 3)")
    parser.add_argument(
        "--http-slices",
        type=int,
        default=None,
        help="each run is cut into this many slices, taken in turn with the other configurations (10)",
    )
    parser.add_argument("--http-concurrency", type=int, default=4, help="load-generator threads")
    parser.add_argument("--http-workers", type=int, default=2, help="gunicorn sync workers")
    parser.add_argument(
        "--http-max-requests", type=int, default=100_000, help="upper bound on requests per load run"
    )
    args = parser.parse_args(argv)
    quick = args.quick
    defaults = {
        "organizations": 6 if quick else 200,
        "migrate_runs": 1 if quick else 3,
        "http_seconds": 2.0 if quick else 10.0,
        "http_warmup": 0.5 if quick else 3.0,
        "http_runs": 1 if quick else 3,
        "http_slices": 2 if quick else 10,
    }
    for name, value in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    if args.organizations < 2:
        parser.error("--organizations must be at least 2")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    many_db, one_db = database_urls()
    with databases_claimed([many_db, one_db], DATABASE_VARIABLE):
        return run(args, many_db, one_db)


def run(args: argparse.Namespace, many_db: str, one_db: str) -> int:
    n = args.organizations
    phases = Phases()
    summary = Summary(judge_speed=not args.quick)
    log_dir = Path(tempfile.mkdtemp(prefix="crowdact-bench-"))
    quick = " (QUICK run: every phase, small sizes, no speed verdict)" if args.quick else ""
    line(
        f"Tenancy benchmark{quick}: {n} organisations in database {database_name(many_db)}, "
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
                done = manage(["migrate_schemas", "--shared", "--noinput"], PRODUCT_SETTINGS, database=url)
                line(f"{database_name(url)}: migrate_schemas --shared {done.seconds:.2f} s")
            done = manage(
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
            line(f"{database_name(one_db)}: manage.py create_organization {slug_for(1)} {done.seconds:.2f} s")
            startup = [
                manage(["check"], PRODUCT_SETTINGS, database=many_db).seconds
                for _ in range(args.migrate_runs)
            ]
            line(f"Process start-up baseline (`manage.py check`): median {median(startup):.2f} s")
            with psycopg.connect(many_db, autocommit=True) as conn:
                line(f"{postgres_settings_line(postgres_settings(conn))} (as found)")

        with phases.phase(f"Phase 1: provision {n} organisations (tenants.services.organization_create)"):
            durations: list[float] = []
            for index in range(1, n + 1):
                durations.append(provision(index))
                if index % 50 == 0 or index == n:
                    recent = durations[max(0, index - 50) :]
                    line(f"  {index:4d} organisations; the last {len(recent)}: median {median(recent):.3f} s")
            window = growth_window(n)
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
            summary.target(
                median(durations) < PROVISION_MEDIAN_TARGET_S,
                f"provisioning: median {median(durations):.3f} s, p95 {percentile(durations, 0.95):.3f} s "
                f"per organisation (target < {PROVISION_MEDIAN_TARGET_S:.0f} s)",
            )
            summary.target(
                growth <= PROVISION_GROWTH_LIMIT,
                f"provisioning growth, median last {window} / first {window} = {growth:.2f} "
                f"(target: no growth, <= {PROVISION_GROWTH_LIMIT})",
            )
            if sent != n:
                summary.check(False, f"only {sent} of {n} invitation e-mails were sent")

        schemas = tenant_schemas()
        if len(schemas) != n:
            raise SystemExit(f"Expected {n} organisations, found {len(schemas)}.")
        connections.close_all()

        with phases.phase(f"Phase 2: migrate_schemas --noinput with nothing to do ({n} organisations)"):
            runs = [
                manage(["migrate_schemas", "--noinput"], PRODUCT_SETTINGS, database=many_db)
                for _ in range(args.migrate_runs)
            ]
            ours = median([done.seconds for done in runs])
            line(
                f"Our executor (tenants.migration_executor): runs "
                f"{', '.join(f'{done.seconds:.2f}' for done in runs)} s; median {ours:.2f} s"
            )
            line(f"  output: {pending_summary(runs[-1].output)}")
            summary.target(
                ours < NOOP_MIGRATE_TARGET_S,
                f"nothing to migrate, our executor: {ours:.2f} s (target < {NOOP_MIGRATE_TARGET_S:.0f} s)",
            )
            if args.skip_stock:
                line("Stock django-tenants executor: skipped (--skip-stock)")
            else:
                stock = manage(
                    ["migrate_schemas", "--noinput"],
                    PRODUCT_SETTINGS,
                    database=many_db,
                    timeout=args.stock_timeout,
                    BENCH_STOCK_EXECUTOR="1",
                )
                if stock.timed_out:
                    line(
                        f"Stock django-tenants executor: stopped after {stock.seconds:.0f} s "
                        "(--stock-timeout)"
                    )
                    summary.info(f"nothing to migrate, stock django-tenants: > {stock.seconds:.0f} s")
                else:
                    migrated = stock.output.count("=== Starting migration")
                    line(
                        f"Stock django-tenants executor (one run): {stock.seconds:.2f} s "
                        f"({migrated} schemas went through `migrate`; {stock.seconds / ours:.1f}x ours)"
                    )
                    summary.info(
                        f"nothing to migrate, stock django-tenants: {stock.seconds:.2f} s "
                        f"({stock.seconds / ours:.1f}x ours)"
                    )

        with phases.phase(f"Phase 3: one new migration (benchapp 0001_initial) applied to {n} organisations"):
            before = applied_migrations(["public", *schemas])
            connections.close_all()
            # About 0.6 s a schema on 2 cores: room for three times that, never less than 10 minutes.
            timeout = max(600.0, 1.8 * n)
            done = manage(["migrate_schemas", "--noinput"], BENCH_SETTINGS, database=many_db, timeout=timeout)
            if done.timed_out:
                line(f"  stopped after {done.seconds:.0f} s (the timeout), before every schema was migrated")
            after = applied_migrations(["public", *schemas])
            added = {schema: after[schema] - before[schema] for schema in after}
            exact = [schema for schema in schemas if added[schema] == {"benchapp.0001_initial"}]
            tables = schemas_with_table("benchapp_benchnote") & set(schemas)
            line(f"Wall time: {done.seconds:.2f} s; per organisation: {done.seconds / n * 1000:.0f} ms")
            line(f"  output: {pending_summary(done.output)}")
            line(
                f"  check: {len(exact)} of {n} organisation schemas gained exactly benchapp.0001_initial; "
                f"{len(tables)} have the table benchapp_benchnote; public gained {sorted(added['public'])}"
            )
            summary.info(
                f"one new migration to {n} organisations: {done.seconds:.2f} s "
                f"({done.seconds / n * 1000:.0f} ms per organisation)"
            )
            if len(exact) != n or len(tables) != n:
                summary.check(False, f"the new migration reached {len(exact)}/{len(tables)} of {n} schemas")
            connections.close_all()
            runs = [
                manage(["migrate_schemas", "--noinput"], BENCH_SETTINGS, database=many_db)
                for _ in range(args.migrate_runs)
            ]
            again = median([done.seconds for done in runs])
            line(
                f"Nothing to do again (benchmark settings): runs "
                f"{', '.join(f'{done.seconds:.2f}' for done in runs)} s; median {again:.2f} s"
            )
            line(f"  output: {pending_summary(runs[-1].output)}")
            summary.target(
                again < NOOP_MIGRATE_TARGET_S,
                f"nothing to migrate after it: {again:.2f} s (target < {NOOP_MIGRATE_TARGET_S:.0f} s)",
            )

        with phases.phase(
            f"Phase 4: requests through gunicorn ({args.http_workers} sync workers per database)"
        ):
            http_phase(args, schemas, many_db, one_db, log_dir, summary)

        with phases.phase(f"Phase 5: PostgreSQL with {n} organisation schemas: locks and connection memory"):
            postgres_phase(schemas, many_db, summary)
    finally:
        connections.close_all()
        for url in (many_db, one_db):
            if args.keep:
                line(f"\nKept the database {database_name(url)} (--keep).")
            else:
                database_drop(url)
                line(f"\nDropped the database {database_name(url)}.")

    if not args.keep:
        shutil.rmtree(log_dir, ignore_errors=True)  # kept after a failure (the exception skips this)
    busiest, cpus = phases.report(), os.cpu_count() or 1
    if busiest > cpus:
        summary.add(
            "WARN",
            f"other work shared the machine (1-minute load average up to {busiest:.2f} on {cpus} "
            "CPUs): times are inflated; the ratios are measured side by side and hold better",
        )
    return summary.report("Summary" + quick)


def http_phase(
    args: argparse.Namespace,
    schemas: list[str],
    many_db: str,
    one_db: str,
    log_dir: Path,
    summary: Summary,
) -> None:
    n = len(schemas)
    hosts = [host_for(schema) for schema in schemas]
    line(f"Load average before (1, 5, 15 min): {load_average()}; other work on the machine skews req/s")
    line(
        f"GET {PING_PATH} (host routing + one query in the organisation's schema); "
        f"{args.http_concurrency} closed-loop client threads; {args.http_runs} rounds of "
        f"{args.http_seconds:g} s per configuration (in {args.http_slices} slices taken in turn) "
        f"after {args.http_warmup:g} s of warm-up"
    )
    # The control is the 1-organisation configuration measured a second time: how far it lands from
    # the first measurement is the noise of this run.
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
        line(f"  {result.row(44)}")
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
    text = (
        f"requests/s with {n} organisations / with 1 = {ratio:.3f} "
        f"({rotating.rps:.0f} / {one.rps:.0f} req/s; "
        f"p50 {rotating.p50_ms:.2f} / {one.p50_ms:.2f} ms; "
        f"p99 {rotating.p99_ms:.2f} / {one.p99_ms:.2f} ms; "
        f"target 1 +/- {HTTP_RATIO_TOLERANCE:.2f}; {errors} errors)"
    )
    if errors == 0 and not within and abs(control_ratio - 1) >= abs(ratio - 1):
        summary.add("INCONCLUSIVE (the A/A control is as far off: too much noise)", text)
    else:
        summary.target(within, text, broken=errors != 0)
    summary.info(
        f"same Host with {n} in the database / 1 = {fixed_ratio:.3f}; "
        f"A/A control = {control_ratio:.3f} (the noise of this run)"
    )
    summary.info(
        f"CPU per request, {n} rotating / 1 = {rotating.cpu_ms / one.cpu_ms:.3f} "
        f"({rotating.cpu_ms:.2f} / {one.cpu_ms:.2f} ms; "
        f"A/A control {control.cpu_ms / one.cpu_ms:.3f})"
    )


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
