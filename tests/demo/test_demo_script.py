"""scripts/demo.sh: its syntax, and its local Stripe part on its own (sourced, the functions only):
started, answering, the STRIPE_* settings exported for what it runs, stopped."""

import json
import os
import subprocess
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "demo.sh"


def test_the_script_parses() -> None:
    result = subprocess.run(["bash", "-n", str(SCRIPT)], capture_output=True, text=True, check=False)

    assert result.returncode == 0, result.stderr


def test_the_local_stripe_starts_answers_and_stops(tmp_path: Path) -> None:
    # Port "": a free one. The settings it exports, then whether the server is gone after stopping.
    program = f"""
source {SCRIPT}
local_stripe_start "" "http://localhost:8000/billing/stripe/webhook/"
printf '%s\\n' "$STRIPE_PID" "$STRIPE_SECRET_KEY" "$STRIPE_PUBLISHABLE_KEY" "$STRIPE_WEBHOOK_SECRET" \\
    "$STRIPE_API_BASE" "$STRIPE_PUBLIC_URL" > {tmp_path}/started
fetch='import sys, urllib.request as u; print(u.urlopen(sys.argv[1]).read().decode())'
"$PY" -c "$fetch" "$STRIPE_API_BASE/_local/webhook" > {tmp_path}/webhook
pid=$STRIPE_PID
local_stripe_stop
kill -0 "$pid" 2>/dev/null && echo running > {tmp_path}/after || echo stopped > {tmp_path}/after
"""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("STRIPE_")}
    result = subprocess.run(
        ["bash", "-c", program], capture_output=True, text=True, timeout=60, env=environment, check=False
    )

    assert result.returncode == 0, result.stderr
    pid, key, publishable, secret, api_base, public = (tmp_path / "started").read_text().split("\n")[:6]
    assert pid.isdigit()
    assert key.startswith("sk_test_")
    assert publishable.startswith("pk_test_")
    assert secret.startswith("whsec_")
    assert len(secret) > 20
    assert api_base.startswith("http://127.0.0.1:")
    assert public == "http://localhost:" + api_base.rsplit(":", 1)[1]
    webhook = json.loads((tmp_path / "webhook").read_text())
    assert webhook["url"] == "http://localhost:8000/billing/stripe/webhook/"
    assert (tmp_path / "after").read_text().strip() == "stopped"
    try:
        urllib.request.urlopen(api_base + "/_local/health", timeout=2)  # noqa: S310 - the local server
        raise AssertionError("the local Stripe still answers after local_stripe_stop")
    except OSError:
        pass
