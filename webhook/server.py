"""gunicorn, used as a library, configured for the API server's traffic.

- `gthread` workers: HTTP/1.1 keep-alive (the sync worker closes every connection, which would cost the
  API server a TLS handshake per request), a few threads per process for concurrent calls.
- keep-alive longer than the API server's 90 s idle timeout, so the client closes idle connections and
  never races a request against our close.
- one TLS context reused for every connection and rebuilt only when the certificate or key changes on
  disk (`ReloadingTLS`): gunicorn's default builds one per connection.
- SIGTERM: gunicorn stops accepting, lets in-flight requests finish within `graceful_timeout`.
- no access log, no request bodies in logs unless asked.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable
from typing import Any

from gunicorn.app.base import BaseApplication

from .reloading import ReloadingTLS
from .settings import Settings


def _child_exit(server: Any, worker: Any) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]


class WebhookServer(BaseApplication):  # type: ignore[misc]
    def __init__(self, settings: Settings, tls: ReloadingTLS | None) -> None:
        self.settings = settings
        self.tls = tls
        super().__init__(prog="podgate serve")

    def gunicorn_options(self) -> dict[str, Any]:
        s = self.settings
        options: dict[str, Any] = {
            "bind": [s.bind],
            "workers": s.workers,
            "worker_class": "gthread",
            "threads": s.threads,
            "keepalive": s.keepalive,
            "timeout": s.timeout,
            "graceful_timeout": s.graceful_timeout,
            "http_protocols": "h1",  # the API server speaks HTTP/1.1 to webhooks
            "accesslog": None,
            "errorlog": "-",
            "loglevel": "info",
            "proc_name": "podgate",
            "child_exit": _child_exit,
            "limit_request_line": 8190,
        }
        tls = self.tls
        if tls is not None:

            def ssl_context(conf: Any, default_factory: Callable[[], ssl.SSLContext]) -> ssl.SSLContext:
                return tls.context()

            options.update(certfile=str(tls.cert), keyfile=str(tls.key), ssl_context=ssl_context)
        return options

    def load_config(self) -> None:
        options = self.gunicorn_options()
        if "control_socket_disable" in self.cfg.settings:  # gunicorn >= 25.1: no socket in $HOME
            options["control_socket_disable"] = True
        for key, value in options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        from .app import configure_logging, create_app

        configure_logging()
        return create_app(self.settings, tls=self.tls)
