"""Development and demo: debug on, e-mails to the console, plain HTTP on port 8000."""

from .base import *  # noqa: F403
from .base import env

DEBUG = env.bool("DEBUG", default=True)
SITE_SCHEME = env("SITE_SCHEME", default="http")
SITE_PORT = env.int("SITE_PORT", default=8000)
