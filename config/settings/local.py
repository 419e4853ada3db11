"""Development and demo: debug on, e-mails to the console, plain HTTP on port 8000."""

from .base import *  # noqa: F403
from .base import BASE_DIR, env

DEBUG = env.bool("DEBUG", default=True)
SITE_SCHEME = env("SITE_SCHEME", default="http")
SITE_PORT = env.int("SITE_PORT", default=8000)

# With no broker configured, tasks still go through a real worker: kombu's filesystem transport
# keeps messages as files under .data/broker, shared by the web process and the worker.
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = BASE_DIR / ".data" / "broker"
    # Producers write to data_folder_out and consumers read data_folder_in: one folder for both.
    # processed_folder is only used with store_processed; control_folder holds the exchange bindings
    # (kombu's default is relative to the current folder).
    _broker_folders = {
        "data_folder_in": _broker_dir / "messages",
        "data_folder_out": _broker_dir / "messages",
        "processed_folder": _broker_dir / "processed",
        "control_folder": _broker_dir / "control",
    }
    for _folder in _broker_folders.values():
        _folder.mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {key: str(folder) for key, folder in _broker_folders.items()}

# axes warns that an in-process cache counts failed sign-ins per process; here one process serves
# (production refuses such a cache: config/settings/production.py).
SILENCED_SYSTEM_CHECKS = ["axes.W001"]
