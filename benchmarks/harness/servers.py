"""A gunicorn to measure, on a free loopback port, and the CPU it spends.

By default it runs with the production settings (deploy/gunicorn.conf.py: sync workers, 30 s timeout,
max_requests 2000 +/- 200, access log); `config=None` gives gunicorn's own defaults (no recycling, no
access log), which the tenancy benchmark's figures were measured with.
"""

# ruff: noqa: S603

import http.client
import math
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from benchmarks.harness import ROOT

GUNICORN_CONFIG = ROOT / "deploy" / "gunicorn.conf.py"
READY_TIMEOUT_S = 60


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def http_status(port: int, host: str, path: str, timeout: float = 5) -> int:
    """The status of GET `path` with this Host header; 0 when nothing answers."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path, headers={"Host": host})
        response = conn.getresponse()
        response.read()
        return response.status
    except OSError:
        return 0
    finally:
        conn.close()


@dataclass
class Server:
    port: int
    pid: int  # gunicorn's master process
    log_path: Path
    description: str

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:  # the folder is under /tmp: something may clean it up
            return ""

    def boots(self) -> int:
        """Workers booted so far (the first ones, then one per recycled worker); 0: log unreadable."""
        return len(re.findall(r"Booting worker with pid", self.log()))

    def server_errors(self) -> list[str]:
        return [entry for entry in self.log().splitlines() if "Traceback" in entry or "[ERROR]" in entry]


@contextmanager
def gunicorn(
    env: dict[str, str],
    *,
    workers: int,
    log_dir: Path,
    probe_host: str,
    probe_path: str = "/healthz",
    config: Path | None = GUNICORN_CONFIG,
    recycle: bool = True,
    log_level: str = "info",
) -> Iterator[Server]:
    """`config.wsgi:application` with `workers` sync workers on 127.0.0.1 and a free port, once GET
    `probe_path` with the Host `probe_host` answers 200; stopped (then killed) on the way out."""
    port = free_port()
    log_path = log_dir / f"gunicorn-{port}.log"
    command = [sys.executable, "-m", "gunicorn"]
    if config is not None:
        command += ["--config", str(config)]
    command += [
        "--bind", f"127.0.0.1:{port}", "--workers", str(workers), "--worker-class", "sync",
        "--log-level", log_level, "--graceful-timeout", "5",
    ]  # fmt: skip
    if config is not None and not recycle:
        command += ["--max-requests", "0"]
    command.append("config.wsgi:application")
    if config is None:
        description = f"gunicorn (its defaults): {workers} sync workers on 127.0.0.1:{port}, no recycling"
    else:
        description = (
            f"gunicorn --config {config.relative_to(ROOT)}: {workers} sync workers on 127.0.0.1:{port}, "
            f"timeout 30 s, {'max_requests 2000 +/- 200 (as in production)' if recycle else 'no recycling'}, "
            "access log on"
        )
    with log_path.open("w") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + READY_TIMEOUT_S
            while http_status(port, probe_host, probe_path) != 200:
                if process.poll() is not None:
                    raise SystemExit(
                        f"gunicorn exited ({process.returncode}):\n{log_path.read_text()[-3000:]}"
                    )
                if time.monotonic() > deadline:
                    raise SystemExit(
                        f"gunicorn did not answer in {READY_TIMEOUT_S} s:\n{log_path.read_text()[-3000:]}"
                    )
                time.sleep(0.2)
            yield Server(port, process.pid, log_path, description)
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
    PostgreSQL must run on this machine. A backend that ends during a measure loses that measure's
    share (CONN_MAX_AGE recycles each worker's connection once a minute).
    """

    def __init__(self, server: Server, database: str) -> None:
        import psycopg

        self.server = server
        self.available = process_cpu_seconds(server.pid) is not None
        self.connection = psycopg.connect(database, autocommit=True)

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
