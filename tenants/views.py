import os
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from kombu import Connection


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


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """The state of the database and the broker: 200 when both answer, 503 otherwise."""
    checks = {"database": _database_state(), "broker": _broker_state()}
    healthy = all(check["ok"] for check in checks.values())
    return JsonResponse(
        {"status": "ok" if healthy else "unavailable", **checks}, status=200 if healthy else 503
    )


def landing(request: HttpRequest) -> HttpResponse:
    return render(request, "tenants/landing.html")
