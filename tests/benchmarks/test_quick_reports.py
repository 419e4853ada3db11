"""The reports benchmark's quick mode, end to end, so that it cannot rot unnoticed.

It runs as its docstring says (`python -m benchmarks.reports --quick` from the project root) and must
exit 0 and print every phase's figures. Speed is not judged here (a quick run judges none). The run
uses a database named after this process, dropped at the end whatever happens.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.harness.databases import database_drop

ROOT = Path(__file__).resolve().parents[2]
DATABASE = f"postgres://postgres@127.0.0.1:5432/crowdact_bench_reports_quick_{os.getpid()}"
TIMEOUT_S = 600  # about a minute and a half on an idle 2-core machine

FIGURES = [
    "Phase 1: 300 participants, 10 challenges, 3,000 contributions",
    "queries; participants",
    "p50",
    "peak memory",
    "PASS  the report counts participants",
    "Dropped the database crowdact_bench_reports_quick_",
]


@pytest.fixture
def database():
    yield DATABASE
    database_drop(DATABASE)


def test_the_quick_run_prints_every_phase_and_exits_0(database):
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    env["BENCH_REPORTS_DATABASE_URL"] = database
    env["BENCH_REPORTS_MEDIA_ROOT"] = f"/tmp/crowdact-bench-reports-quick-{os.getpid()}"  # noqa: S108
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.reports", "--quick"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )
    output = done.stdout
    assert done.returncode == 0, output[-3000:] + done.stderr[-3000:]
    for figure in FIGURES:
        assert figure in output, figure
    assert "FAIL" not in output
