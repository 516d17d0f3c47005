"""A loopback stand-in for the Kubernetes API server: real JSON shapes, recorded requests.

Tests register answers by (method, path); a watch answer is a queue of events streamed as the API
server streams them (chunked, one JSON event per line) until the test closes it.
"""

from __future__ import annotations

import contextlib
import json
import queue
import ssl
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

CLOSE = object()  # put on a watch queue to end the stream


@dataclass
class Call:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any


@dataclass
class KubeLoopback:
    server: ThreadingHTTPServer
    answers: dict[tuple[str, str], Any] = field(default_factory=dict)
    watches: dict[str, queue.Queue[Any]] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    fallback: Callable[[Call], tuple[int, Any]] | None = None  # answers what no `answer()` covers

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        scheme = "https" if isinstance(self.server.socket, ssl.SSLSocket) else "http"
        return f"{scheme}://{host}:{port}"

    def answer(self, method: str, path: str, reply: Any) -> None:
        """reply: (status, json), or a callable(Call) -> (status, json)."""
        self.answers[(method, path)] = reply

    def watch(self, path: str) -> queue.Queue[Any]:
        """GET path?watch=true streams the events put on the returned queue, until CLOSE."""
        events: queue.Queue[Any] = queue.Queue()
        self.watches[path] = events
        return events

    def kubeconfig(self, directory: Path, user: str = "rhea") -> Path:
        return write_kubeconfig(directory / "kubeconfig", self.url, user)

    def calls_to(self, method: str, path: str) -> list[Call]:
        return [c for c in self.calls if c.method == method and c.path == path]


def write_kubeconfig(path: Path, server: str, user: str = "rhea") -> Path:
    """A kubeconfig at `path` whose one context points at `server` with a bearer token."""
    path.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "loop", "cluster": {"server": server}}],
                "users": [{"name": user, "user": {"token": "loopback-token"}}],
                "contexts": [{"name": "loop", "context": {"cluster": "loop", "user": user}}],
                "current-context": "loop",
            }
        )
    )
    return path


def status(code: int, reason: str, message: str) -> tuple[int, dict[str, Any]]:
    """A metav1.Status body, as the API server sends with every error."""
    return code, {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }


def namespace(name: str, labels: dict[str, str], version: int) -> dict[str, Any]:
    """A Namespace as the API server returns it (with the automatic metadata.name label)."""
    return {
        "kind": "Namespace",
        "apiVersion": "v1",
        "metadata": {
            "name": name,
            "uid": f"00000000-0000-4000-8000-{version:012d}",
            "resourceVersion": str(version),
            "creationTimestamp": "2026-11-01T00:00:00Z",
            "labels": {"kubernetes.io/metadata.name": name, **labels},
            "managedFields": [],
        },
        "spec": {"finalizers": ["kubernetes"]},
        "status": {"phase": "Active"},
    }


def object_list(kind: str, items: list[dict[str, Any]], resource_version: str) -> tuple[int, dict[str, Any]]:
    """A `<kind>List` answer, as a list call gets it."""
    return 200, {
        "kind": f"{kind}List",
        "apiVersion": "v1",
        "metadata": {"resourceVersion": resource_version},
        "items": items,
    }


def _handler(loop: KubeLoopback) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def _serve(self, method: str) -> None:
            url = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            call = Call(
                method, url.path, parse_qs(url.query), dict(self.headers), json.loads(raw) if raw else None
            )
            loop.calls.append(call)
            if call.query.get("watch") == ["true"] and url.path in loop.watches:
                self._stream(loop.watches[url.path])
                return
            reply = loop.answers.get((method, url.path))
            if callable(reply):
                reply = reply(call)
            if reply is None and loop.fallback is not None:
                reply = loop.fallback(call)
            if reply is None:
                reply = status(
                    404, "NotFound", f"the server could not find the requested resource ({url.path})"
                )
            code, body = reply
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _stream(self, events: queue.Queue[Any]) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            while True:
                event = events.get()
                if event is CLOSE:
                    break
                line = json.dumps(event).encode() + b"\n"
                self.wfile.write(f"{len(line):x}\r\n".encode() + line + b"\r\n")
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
            self.close_connection = True

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

        def do_PATCH(self) -> None:
            self._serve("PATCH")

    return Handler


@contextlib.contextmanager
def serving(tls: ssl.SSLContext | None = None) -> Iterator[KubeLoopback]:
    """A loopback API server on 127.0.0.1, for the length of a `with` block (tests wrap it in a fixture).

    With `tls` (a server context), it speaks HTTPS, as the in-cluster address of the API server does.
    """
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    loop = KubeLoopback(server)
    server.RequestHandlerClass = _handler(loop)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield loop
    finally:
        server.shutdown()
        server.server_close()


def wait_for(predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()
