"""Evidence that holds up: what was judged, against which policies, when, and proof it was not edited.

A JSON audit report carries an `evidence` block (podgate version, start and end times in UTC, the
SHA-256 of every policy file and of the whole policy set, the SHA-256 and size of every input read, or
the cluster and the resourceVersion of every list) and an `integrity` block: the SHA-256 of the report's
canonical JSON (sorted keys, no spaces, UTF-8, by orjson) without `integrity`, and optionally an Ed25519
signature of those same bytes. Anyone with the report can check the digest; with the public key, that
the report came from the holder of the private key and was not changed since (`podgate audit-verify`).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ..policy import PolicySet

INTEGRITY = "integrity"


class EvidenceError(ValueError):
    """A key that cannot be used, or a report that does not verify; the message says why."""


def utc(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def policy_set_evidence(policies: PolicySet) -> dict[str, Any]:
    """The SHA-256 of each policy file and of the set (over sorted `path sha256` lines)."""
    files = []
    for source in sorted(policies.sources):
        path = Path(source)
        digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else ""
        files.append({"path": source, "sha256": digest})
    whole = hashlib.sha256("".join(f"{f['path']} {f['sha256']}\n" for f in files).encode()).hexdigest()
    return {"digest": f"sha256:{whole}", "files": files, "policies": list(policies.names)}


def canonical(document: Mapping[str, Any]) -> bytes:
    """The bytes the digest and signature cover: the report without `integrity`, canonically encoded
    (orjson: sorted keys, no spaces, UTF-8; the same function writes and verifies)."""
    body = {k: v for k, v in document.items() if k != INTEGRITY}
    return orjson.dumps(body, option=orjson.OPT_SORT_KEYS)


def _read_key_file(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise EvidenceError(f"{path}: cannot read: {exc.strerror or exc}") from None


def load_private_key(path: str) -> Ed25519PrivateKey:
    data = _read_key_file(path)
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise EvidenceError(f"{path}: not an unencrypted PEM private key: {exc}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise EvidenceError(f"{path}: expected an Ed25519 private key, got {type(key).__name__}")
    return key


def load_public_key(path: str) -> Ed25519PublicKey:
    data = _read_key_file(path)
    try:
        key: Any = serialization.load_pem_public_key(data)
    except ValueError:
        try:  # a private key file also holds the public key
            key = serialization.load_pem_private_key(data, password=None).public_key()
        except (ValueError, TypeError) as exc:
            raise EvidenceError(f"{path}: not a PEM public key: {exc}") from None
    if not isinstance(key, Ed25519PublicKey):
        raise EvidenceError(f"{path}: expected an Ed25519 public key, got {type(key).__name__}")
    return key


def key_id(key: Ed25519PublicKey) -> str:
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def seal(document: dict[str, Any], private_key: Ed25519PrivateKey | None = None) -> dict[str, Any]:
    """Add the `integrity` block (digest, and signature when a key is given) to a report."""
    body = canonical(document)
    document[INTEGRITY] = integrity_block(hashlib.sha256(body).hexdigest(), body, private_key)
    return document


def integrity_block(
    digest: str, body: bytes | None, private_key: Ed25519PrivateKey | None = None
) -> dict[str, Any]:
    """The `integrity` block for canonical bytes `body` whose SHA-256 is `digest` (body: to sign)."""
    integrity: dict[str, Any] = {"algorithm": "sha256", "digest": digest}
    if private_key is not None:
        assert body is not None
        integrity["signature"] = {
            "algorithm": "ed25519",
            "keyId": key_id(private_key.public_key()),
            "value": base64.b64encode(private_key.sign(body)).decode("ascii"),
        }
    return integrity


def verify(document: Any, public_key: Ed25519PublicKey | None = None) -> list[str]:
    """What is wrong with a sealed report; empty when it verifies."""
    if not isinstance(document, Mapping):
        return ["the report is not a JSON object"]
    integrity = document.get(INTEGRITY)
    if not isinstance(integrity, Mapping) or not isinstance(integrity.get("digest"), str):
        return [f"`{INTEGRITY}.digest` is missing: the report was not sealed"]
    body = canonical(document)
    problems = []
    if hashlib.sha256(body).hexdigest() != integrity["digest"]:
        problems.append(f"`{INTEGRITY}.digest` does not match the content: the report was changed")
    signature = integrity.get("signature")
    if public_key is not None:
        if not isinstance(signature, Mapping) or not isinstance(signature.get("value"), str):
            problems.append("the report is not signed, but a public key was given")
        else:
            try:
                public_key.verify(base64.b64decode(signature["value"], validate=True), body)
            except (InvalidSignature, ValueError):
                problems.append("the signature does not verify with the given public key")
    return problems


def source_evidence(digests: Iterable[Any]) -> list[dict[str, Any]]:
    return [{"source": d.source, "sha256": d.sha256, "bytes": d.bytes} for d in digests]
