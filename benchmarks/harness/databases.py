"""A benchmark's own databases on the local PostgreSQL, and the environment of its child processes.

A benchmark names its database with an environment variable (a default otherwise), refuses the
product's databases, drops and creates it at the start and drops it at the end. Two runs at once
need two names: `databases_claimed` makes a second run on the same names stop with a sentence
instead of dropping the first one's databases under it.
"""

import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

# Never benchmarked in: the product's databases (and its tests' prefix) and the server's own.
PROTECTED_DATABASES = frozenset({"crowdact", "test_crowdact", "postgres", "template0", "template1"})


def database_url(variable: str, default: str) -> str:
    return os.environ.get(variable, default)


def database_name(url: str) -> str:
    """The database of `url`; refuses the product's and the server's databases."""
    name = urlsplit(url).path.lstrip("/")
    if not name or name in PROTECTED_DATABASES or name.startswith("test_crowdact"):
        raise SystemExit(f"Refusing to benchmark in the database {name!r}: use a dedicated one.")
    return name


def database_sibling(url: str, suffix: str) -> str:
    """The same server and credentials, the database `<name><suffix>`."""
    return urlunsplit(urlsplit(url)._replace(path=f"/{database_name(url)}{suffix}"))


def _maintenance(url: str) -> str:
    from psycopg.conninfo import make_conninfo

    return make_conninfo(url, dbname="postgres")


def _admin(url: str, statement: str) -> None:
    """One statement on the server's maintenance database (CREATE / DROP DATABASE)."""
    import psycopg

    with psycopg.connect(_maintenance(url), autocommit=True) as conn:
        conn.execute(statement)


def database_recreate(url: str) -> None:
    name = database_name(url)
    _admin(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    _admin(url, f'CREATE DATABASE "{name}"')


def database_drop(url: str) -> None:
    _admin(url, f'DROP DATABASE IF EXISTS "{database_name(url)}" WITH (FORCE)')


@contextmanager
def databases_claimed(urls: Iterable[str], variable: str) -> Iterator[None]:
    """Hold a PostgreSQL advisory lock per database name for as long as the run lasts."""
    import psycopg

    urls = list(urls)
    with psycopg.connect(_maintenance(urls[0]), autocommit=True) as conn:
        for url in urls:
            name = database_name(url)
            row = conn.execute(
                "SELECT pg_try_advisory_lock(hashtext(%s))", [f"crowdact-benchmark {name}"]
            ).fetchone()
            if not (row and row[0]):
                raise SystemExit(
                    f"Another benchmark run is using the database {name!r}: wait for it, or set "
                    f"{variable} to another database (postgres://postgres@127.0.0.1:5432/<name>)."
                )
        yield  # the locks go with the connection


def child_env(settings_module: str, *, without: Iterable[str] = (), **values: str) -> dict[str, str]:
    """This process's environment for a child with `settings_module`: minus `without`, plus `values`."""
    dropped = {"DJANGO_SETTINGS_MODULE", *without}
    env = {key: value for key, value in os.environ.items() if key not in dropped}
    env.update(DJANGO_SETTINGS_MODULE=settings_module, PYTHONUNBUFFERED="1", **values)
    return env
