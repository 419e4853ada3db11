"""What every benchmark needs and nothing of the product: its own databases (`databases`), a gunicorn to
measure (`servers`), closed-loop HTTP load (`load`) and the printed report (`report`).

The benchmarks import the product; the harness never does.
"""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the project root: the benchmarks' children run there
