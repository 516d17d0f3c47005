"""Things read from disk that change while the server runs: the policy set and the TLS material.

Both are watched the same cheap way: a fingerprint of (resolved path, inode, size, mtime) of every file,
taken at most every `interval` seconds. A mounted ConfigMap or Secret swaps its `..data` symlink, which
changes the resolved paths, so the swap is seen even when sizes and times happen to agree.

The policy set is watched together with the files its checks read at load (`PolicySet.data_sources`:
scan reports): a changed report reloads the whole set, and a broken one keeps the last good set.
"""

from __future__ import annotations

import logging
import os
import ssl
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from .judging import Judged
from .policy import PolicyLoadError, PolicySet, load_policies

log = logging.getLogger("podgate.reload")

Fingerprint = tuple[tuple[str, int, int, int], ...]


def fingerprint(paths: Iterable[Path]) -> Fingerprint:
    found: list[tuple[str, int, int, int]] = []
    for root in paths:
        files = [root] if not root.is_dir() else sorted(p for p in root.rglob("*") if p.is_file())
        for file in files:
            try:
                real = os.path.realpath(file)
                st = os.stat(real)
            except OSError:
                found.append((str(file), -1, -1, -1))  # missing: a change when it appears
                continue
            found.append((real, st.st_ino, st.st_size, st.st_mtime_ns))
    return tuple(found)


@dataclass(frozen=True, slots=True)
class LoadedPolicies:
    policies: PolicySet
    loaded_at: float
    judged: Judged  # what the set judges beyond pod specs, worked out once per load


class PolicyStore:
    """The current policy set. A new set replaces it only when it loaded completely."""

    def __init__(self, paths: Sequence[Path], *, interval: float = 2.0) -> None:
        self.paths = tuple(paths)
        self.interval = interval
        self.current: LoadedPolicies | None = None
        self.error: str = ""  # the last failed load, shown in /readyz; "" when the last load succeeded
        self.sources: tuple[Path, ...] = ()  # the current set's data sources, watched with `paths`
        self._fingerprint: Fingerprint | None = None
        self._checked = 0.0
        self._lock = threading.Lock()
        self.reload()

    def watched(self) -> tuple[Path, ...]:
        return (*self.paths, *self.sources)

    def reload(self) -> bool:
        """Load now; keep the last good set on failure. Returns whether a new set is in place."""
        from . import metrics

        with self._lock:
            # Taken before loading: a change made while the set loads is seen at the next look.
            self._fingerprint = fingerprint(self.watched())
            self._checked = time.monotonic()
            try:
                policies = load_policies(*self.paths)
            except PolicyLoadError as exc:
                self.error = str(exc)
                kept = "keeping the last good set" if self.current else "no policy set is loaded"
                log.error("policy reload failed; %s: %s", kept, exc)
                metrics.POLICY_RELOADS.labels(result="failure").inc()
                return False
            except OSError as exc:
                self.error = f"cannot read the policies: {exc}"
                log.error("policy reload failed: %s", self.error)
                metrics.POLICY_RELOADS.labels(result="failure").inc()
                return False
            sources = tuple(Path(p) for p in policies.data_sources)
            if sources != self.sources:  # the new set reads other reports: watch those from now on
                self.sources = sources
                self._fingerprint = fingerprint(self.watched())
            self.current = LoadedPolicies(policies, time.time(), Judged.of(policies))
            self.error = ""
            metrics.POLICY_RELOADS.labels(result="success").inc()
            metrics.POLICIES_LOADED.set(len(policies))
            log.info("loaded %d policies from %s", len(policies), ", ".join(map(str, self.paths)))
            return True

    def maybe_reload(self) -> None:
        """Reload if the files changed; looks at most every `interval` seconds."""
        now = time.monotonic()
        if now - self._checked < self.interval:
            return
        self._checked = now
        if fingerprint(self.watched()) != self._fingerprint:
            self.reload()


class CertificateError(Exception):
    pass


class ReloadingTLS:
    """One server SSLContext, reused for every connection, rebuilt only when the files change.

    gunicorn asks for a context per connection; building one (reading and parsing the key) costs about
    2 ms of CPU, so the same context is handed out until the certificate or key changes on disk.
    A half-written pair (cert and key not matching yet) keeps the previous context.
    """

    def __init__(self, cert: Path, key: Path, *, interval: float = 2.0) -> None:
        self.cert = cert
        self.key = key
        self.interval = interval
        self.error = ""
        self.not_after: float | None = None
        self._fingerprint: Fingerprint | None = None
        self._checked = 0.0
        self._lock = threading.Lock()
        self._context: ssl.SSLContext | None = None
        self._build()
        if self._context is None:
            raise CertificateError(self.error)

    def context(self) -> ssl.SSLContext:
        now = time.monotonic()
        if now - self._checked >= self.interval:
            self._checked = now
            if fingerprint((self.cert, self.key)) != self._fingerprint:
                with self._lock:
                    self._build()
        assert self._context is not None
        return self._context

    def _build(self) -> None:
        from cryptography import x509

        from . import metrics

        self._fingerprint = fingerprint((self.cert, self.key))
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.set_alpn_protocols(["http/1.1"])
        try:
            context.load_cert_chain(str(self.cert), str(self.key))
            cert = x509.load_pem_x509_certificate(self.cert.read_bytes())
        except (OSError, ssl.SSLError, ValueError) as exc:
            self.error = f"cannot load the TLS certificate {self.cert} and key {self.key}: {exc}"
            log.error("%s%s", self.error, "; keeping the previous one" if self._context else "")
            return
        self._context = context
        self.error = ""
        self.not_after = cert.not_valid_after_utc.timestamp()
        metrics.CERT_EXPIRY.set(self.not_after)
        log.info("TLS certificate %s loaded (expires %s)", self.cert, cert.not_valid_after_utc.isoformat())
