import logging
import os
import uuid
from pathlib import Path

from django.conf import settings
from django.core.cache import caches
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from kombu import Connection

logger = logging.getLogger(__name__)


def _database_state() -> dict[str, object]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any failure means "down"; the message says which
        return {"ok": False, "error": exc.__class__.__name__}
    return {"ok": True}


def _broker_state() -> dict[str, object]:
    try:
        with Connection(
            settings.CELERY_BROKER_URL,
            connect_timeout=2,
            transport_options=settings.CELERY_BROKER_TRANSPORT_OPTIONS,
        ) as broker:
            broker.ensure_connection(max_retries=1, timeout=2)
            if broker.transport.driver_type == "filesystem":
                # This transport "connects" whatever the state of its folders: check them instead.
                for key in ("data_folder_in", "data_folder_out"):
                    folder = Path(str(settings.CELERY_BROKER_TRANSPORT_OPTIONS[key]))
                    if not folder.is_dir():
                        raise FileNotFoundError(str(folder))
                    if not os.access(folder, os.W_OK | os.X_OK):
                        raise PermissionError(str(folder))
    except Exception as exc:  # any failure means "down"; the message says which
        return {"ok": False, "error": exc.__class__.__name__}
    return {"ok": True}


def _cache_state() -> dict[str, object]:
    # A key of its own per check: two probes at once never read each other's value.
    key, value = f"readyz:{uuid.uuid4().hex}", uuid.uuid4().hex
    try:
        cache = caches["default"]
        cache.set(key, value, timeout=10)
        if cache.get(key) != value:
            raise LookupError("the cache kept nothing")
        cache.delete(key)
    except Exception as exc:  # any failure means "down"; the message says which
        return {"ok": False, "error": exc.__class__.__name__}
    return {"ok": True}


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness: the process answers. Touches neither the database nor the broker, so that their
    outage makes web processes unready (readyz), not restarted."""
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    """Readiness: the database, the cache and the broker; 200 when all answer, 503 saying which did not."""
    checks = {"database": _database_state(), "cache": _cache_state(), "broker": _broker_state()}
    failed = [name for name, check in checks.items() if not check["ok"]]
    response = JsonResponse(
        {"status": "unavailable" if failed else "ok", **checks}, status=503 if failed else 200
    )
    if failed:
        # A warning, not Django's error for a 503: a probe asks every few seconds, and each error
        # would become an error report.
        logger.warning("Not ready: %s unavailable", ", ".join(failed), extra={"checks": checks})
        response._has_been_logged = True  # type: ignore[attr-defined]
    return response


def landing(request: HttpRequest) -> HttpResponse:
    return render(request, "tenants/landing.html")
