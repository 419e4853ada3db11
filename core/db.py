"""Transactions that PostgreSQL may abort for a deadlock or a serialisation failure are run again.

Writes take their locks in one order (see challenges/services.py), so a deadlock should not happen;
if one still does (or a serialisation failure), the whole transaction is retried a few times with a
short random pause, and the person never sees a 500 for it.
"""

import functools
import logging
import random
import time
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from django.db import OperationalError, connection, transaction

logger = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")

# SQLSTATE of the errors that mean "run the same transaction again" (PostgreSQL, appendix A).
RETRYABLE_SQLSTATES = frozenset({"40P01", "40001"})  # deadlock_detected, serialization_failure
ATTEMPTS = 4


def is_retryable(error: BaseException) -> bool:
    cause = error.__cause__
    return isinstance(error, OperationalError) and getattr(cause, "sqlstate", None) in RETRYABLE_SQLSTATES


def _in_outer_transaction() -> bool:
    # The transaction a test runs in (Django's TestCase) is the test's, not the application's: a
    # service called in a test is retried as it is in production.
    return any(not getattr(block, "_from_testcase", False) for block in connection.atomic_blocks)


def atomic_with_retry(func: Callable[P, R]) -> Callable[P, R]:
    """Run `func` in a transaction; run it again (up to ATTEMPTS times) if PostgreSQL aborted the
    transaction for a deadlock or a serialisation failure.

    Inside an outer transaction there is nothing to retry on its own: the error goes up to the owner
    of the outer transaction. An error still there after the last attempt goes up too, everything
    rolled back; pages and the API answer it with 503 and Retry-After (core/errors.py, core/api.py).
    """

    @functools.wraps(func)
    def wrapped(*args: P.args, **kwargs: P.kwargs) -> R:
        if _in_outer_transaction():
            with transaction.atomic():
                return func(*args, **kwargs)
        for attempt in range(1, ATTEMPTS + 1):
            try:
                with transaction.atomic():
                    return func(*args, **kwargs)
            except OperationalError as error:
                if not is_retryable(error):
                    raise
                if attempt == ATTEMPTS:
                    logger.warning(
                        "%s aborted %d times in a row (SQLSTATE %s): given up",
                        func.__qualname__,
                        ATTEMPTS,
                        getattr(error.__cause__, "sqlstate", None),
                    )
                    raise
                time.sleep(random.uniform(0.005, 0.05) * attempt)  # noqa: S311 - jitter, not secrecy
        raise AssertionError("unreachable")

    return wrapped


def advisory_xact_lock(namespace: int, key: int) -> None:
    """Wait for PostgreSQL's advisory lock (`namespace`, `key`), held until the transaction ends.

    It serialises writes that must see each other's rows and have no row of their own to lock (the
    last place on a plan, say). Each use names its own 32-bit namespace, so that two uses never wait
    for each other.
    """
    if not connection.in_atomic_block:
        raise RuntimeError("advisory_xact_lock needs a transaction: it is released when it ends.")
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [namespace, key])
