"""Webhook settings: one frozen object, filled from PODGATE_* environment variables and `serve` flags.

Flags win over the environment, the environment over the defaults. The defaults are the secure ones:
TLS required, enforce mode, fail closed, request bodies never logged.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Literal

Mode = Literal["enforce", "dry-run"]
MODES: tuple[Mode, ...] = ("enforce", "dry-run")
ENV_PREFIX = "PODGATE_"

# The API server gives up after `timeoutSeconds` (default 10 s); answering well before that keeps a
# slow evaluation from turning into the webhook's failurePolicy for the whole request.
DEFAULT_DEADLINE_MS = 2000
MAX_BODY_BYTES = 3 * 1024 * 1024  # the API server's own request limit for an object is 3 MiB


class SettingsError(ValueError):
    """A setting with a value that cannot be used; the message names the flag and the variable."""


def shipped_policies() -> Path:
    """The shipped policy library: `policies/` in a checkout, `webhook/_shipped_policies` in a wheel."""
    package = Path(__file__).resolve().parent
    for candidate in (package / "_shipped_policies", package.parent / "policies"):
        if candidate.is_dir():
            return candidate
    return package.parent / "policies"


@dataclass(frozen=True, slots=True)
class Settings:
    policies: tuple[Path, ...] = field(default_factory=lambda: (shipped_policies(),))
    cert: Path | None = None
    key: Path | None = None
    bind: str = "0.0.0.0:8443"
    workers: int = 2
    threads: int = 4
    mode: Mode = "enforce"
    deadline_ms: int = DEFAULT_DEADLINE_MS
    max_body_bytes: int = MAX_BODY_BYTES
    decision_log: Path | None = None  # the hash-chained file; stdout always gets one line per decision
    decision_log_max_bytes: int = 50 * 1024 * 1024
    decision_log_backups: int = 5
    decision_log_key: str = ""  # optional HMAC key: the chain cannot be recomputed without it
    log_bodies: bool = False
    reload_interval: float = 2.0  # seconds between looks at the policy and certificate files
    namespace_labels: bool = True  # watch Namespaces when a policy needs their labels
    kube_api: str = ""  # explicit API server URL (tests, proxies); else in-cluster or kubeconfig
    dry_run_label: str = "podgate.io/mode"  # a namespace labelled `<label>=dry-run` is in dry-run
    insecure_plaintext: bool = False  # development only: serve HTTP without TLS
    keepalive: int = 120  # longer than the API server's 90 s idle timeout: it, not us, closes idle ones
    timeout: int = 30
    graceful_timeout: int = 20

    @property
    def deadline_seconds(self) -> float:
        return self.deadline_ms / 1000

    def check(self) -> Settings:
        """Refuse settings that cannot serve, with a message that says how to fix them."""
        if self.mode not in MODES:
            raise SettingsError(f"mode {self.mode!r} is not one of {', '.join(MODES)} (--mode, PODGATE_MODE)")
        if self.workers < 1 or self.threads < 1:
            raise SettingsError("workers and threads must be at least 1 (--workers, --threads)")
        if self.deadline_ms < 0:
            raise SettingsError(
                "the evaluation deadline must be >= 0 ms (--deadline-ms, PODGATE_DEADLINE_MS)"
            )
        if not self.insecure_plaintext and (self.cert is None or self.key is None):
            raise SettingsError(
                "TLS needs a certificate and a key: pass --cert FILE --key FILE (PODGATE_CERT, PODGATE_KEY),"
                " or --dev for a throwaway local certificate"
            )
        host, sep, port = self.bind.rpartition(":")
        if not sep or not host or not port.isdigit():
            raise SettingsError(f"bind address {self.bind!r} must be HOST:PORT (--bind, PODGATE_BIND)")
        return self


_BOOL_TRUE = frozenset({"1", "true", "yes", "on"})
_BOOL_FALSE = frozenset({"0", "false", "no", "off", ""})


def _convert(name: str, raw: str, current: Any) -> Any:
    if name == "policies":
        return tuple(Path(p) for p in raw.split(os.pathsep) if p)
    if name in ("cert", "key", "decision_log"):
        return Path(raw) if raw else None
    if isinstance(current, bool):
        lowered = raw.strip().lower()
        if lowered in _BOOL_TRUE:
            return True
        if lowered in _BOOL_FALSE:
            return False
        raise SettingsError(f"{ENV_PREFIX}{name.upper()}={raw!r} is not a boolean (true/false)")
    if isinstance(current, int):
        try:
            return int(raw)
        except ValueError:
            raise SettingsError(f"{ENV_PREFIX}{name.upper()}={raw!r} is not an integer") from None
    if isinstance(current, float):
        try:
            return float(raw)
        except ValueError:
            raise SettingsError(f"{ENV_PREFIX}{name.upper()}={raw!r} is not a number") from None
    return raw


def from_env(environ: Mapping[str, str] | None = None, base: Settings | None = None) -> Settings:
    """Settings from PODGATE_<FIELD> variables (PODGATE_POLICIES is a PATH-style list)."""
    environ = os.environ if environ is None else environ
    settings = base or Settings()
    changes: dict[str, Any] = {}
    for f in fields(Settings):
        raw = environ.get(ENV_PREFIX + f.name.upper())
        if raw is not None:
            changes[f.name] = _convert(f.name, raw, getattr(settings, f.name))
    return replace(settings, **changes)


def with_overrides(settings: Settings, overrides: Mapping[str, Any]) -> Settings:
    """Apply command-line values that were given (None means "not given")."""
    return replace(settings, **{k: v for k, v in overrides.items() if v is not None})
