"""PostgreSQL's client programs (pg_dump, pg_restore, psql), for what runs them: organisation export
and import (tenants/portability.py) and the restore drill (scripts/restore_drill.py). No Django."""

import shutil
from pathlib import Path


def postgres_tool(name: str) -> str | None:
    """The program `name`: on PATH, else the newest under /usr/lib/postgresql (Debian keeps each
    version's there, off PATH); None when neither has it."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(
        Path("/usr/lib/postgresql").glob(f"*/bin/{name}"),
        key=lambda path: int(path.parts[-3]) if path.parts[-3].isdigit() else 0,
    )
    return str(candidates[-1]) if candidates else None
