"""A loopback stand-in for the Kubernetes API: Namespace list and watch, in the API's real JSON shapes."""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse


def namespace(name: str, labels: Mapping[str, str], version: int) -> dict[str, Any]:
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


class FakeKubeAPI:
    """GET /api/v1/namespaces lists; `?watch=true` streams the events added with `event()`."""

    def __init__(self, namespaces: Mapping[str, Mapping[str, str]]) -> None:
        self.version = 100
        self.items = {
            name: namespace(name, labels, i + 1) for i, (name, labels) in enumerate(namespaces.items())
        }
        self.events: list[dict[str, Any]] = []
        self.changed = threading.Condition()
        self.requests: list[str] = []
        self.stopping = False
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                url = urlparse(self.path)
                api.requests.append(self.path)
                if url.path != "/api/v1/namespaces":
                    self._send(404, {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 404})
                    return
                if parse_qs(url.query).get("watch") == ["true"]:
                    self._watch(int(parse_qs(url.query).get("resourceVersion", ["0"])[0]))
                    return
                with api.changed:
                    body = {
                        "kind": "NamespaceList",
                        "apiVersion": "v1",
                        "metadata": {"resourceVersion": str(api.version)},
                        "items": list(api.items.values()),
                    }
                self._send(200, body)

            def _send(self, status: int, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _watch(self, since: int) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                sent = 0
                while not api.stopping:
                    with api.changed:
                        pending = [
                            e for e in api.events if int(e["object"]["metadata"]["resourceVersion"]) > since
                        ]
                        if len(pending) == sent:
                            api.changed.wait(0.2)
                            continue
                    for event in pending[sent:]:
                        line = json.dumps(event).encode() + b"\n"
                        self.wfile.write(f"{len(line):x}\r\n".encode() + line + b"\r\n")
                        self.wfile.flush()
                    sent = len(pending)
                self.wfile.write(b"0\r\n\r\n")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def event(self, kind: str, name: str, labels: Mapping[str, str]) -> None:
        with self.changed:
            self.version += 1
            obj = namespace(name, labels, self.version)
            if kind == "DELETED":
                self.items.pop(name, None)
            else:
                self.items[name] = obj
            self.events.append({"type": kind, "object": obj})
            self.changed.notify_all()

    def close(self) -> None:
        self.stopping = True
        self.server.shutdown()
        self.server.server_close()
