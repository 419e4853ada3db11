"""gunicorn settings for production: sync workers, bounded request time, logs to stdout."""

import multiprocessing
import os

from gunicorn.glogging import Logger

bind = os.environ.get("BIND", "0.0.0.0:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
worker_class = "sync"
timeout = 30
graceful_timeout = 30
max_requests = 2000
max_requests_jitter = 200
accesslog = "-"
# gunicorn's usual line, then the request id the product answered with (X-Request-ID), which its own
# log lines carry too (deploy/README.md, "Logs, request ids and errors").
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %({x-request-id}o)s'


class ScrubbingLogger(Logger):
    """gunicorn's logger, with the request line, path, query and referrer of each access line
    scrubbed as the product's own logs are: no one-time link secret, no e-mail address."""

    SCRUBBED_ATOMS = ("r", "U", "q", "f")

    def atoms(self, resp, req, environ, request_time):
        from core.observability import scrub_text  # the app's code, loaded in each worker by then

        atoms = super().atoms(resp, req, environ, request_time)
        for name in self.SCRUBBED_ATOMS:
            if isinstance(atoms.get(name), str):
                atoms[name] = scrub_text(atoms[name])
        return atoms


logger_class = ScrubbingLogger
errorlog = "-"
# The reverse proxies whose X-Forwarded-* headers are believed: the same variable the product reads for
# the client address of its rate limits (config/settings/base.py), addresses or CIDR networks.
# gunicorn takes them as one comma-separated string.
forwarded_allow_ips = ",".join(
    entry.strip()
    for entry in os.environ.get("TRUSTED_PROXY_IPS", "127.0.0.1,::1").split(",")
    if entry.strip()
)
