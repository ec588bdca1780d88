"""gunicorn settings of the admin pages (``oms admin`` starts gunicorn with this file).

Bind address and worker count come from ``[admin]`` of the settings file (``OMS_CONFIG``);
``oms admin --bind/--workers`` override them. Workers are synchronous: every page and every
live-refresh poll is one short request, so no worker is held by a browser. The database pool and
Redis client are created inside each worker after the fork; ``post_fork`` also drops any pool
inherited from the master.
"""

from __future__ import annotations

from typing import Any

from oms.settings import load_settings

_admin = load_settings().file.admin

bind = _admin.bind
workers = _admin.workers
worker_class = "sync"
timeout = 30
graceful_timeout = 10
keepalive = 5
max_requests = 5000
max_requests_jitter = 500
accesslog = "-"
errorlog = "-"
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms'
proc_name = "oms-admin"
limit_request_line = 8190
limit_request_fields = 100
# gunicorn 27's control socket is one fixed path per user: two admin servers on one machine (the
# demo and the tests) would fight over it, and nothing here uses gunicornc.
control_socket_disable = True


def post_fork(server: Any, worker: Any) -> None:
    from oms.admin.services import dispose_inherited_pools

    dispose_inherited_pools()
