"""trusted-registries: every image comes from an allowed registry (and repository path).

Restricted fields:
  spec.{initContainers,containers,ephemeralContainers}[*].image
Allowed values:
  a reference that parses by the distribution grammar (`nginx` is `docker.io/library/nginx`) whose
  registry host (with its port, compared case-insensitively) equals an entry's host, and whose
  repository path is the entry's path or below it on a `/` boundary. So `registry.example.com`
  does not allow `registry.example.com.evil.io/x`, `evil.io/registry.example.com/x` or
  `registry.example.com:5000/x`, and `ghcr.io/acme` does not allow `ghcr.io/acme-evil/x`.
  requireDigest: the reference carries `@sha256:...`.
  forbidLatest: the reference has a tag other than `latest`, or a digest (a digest pins the image,
  whatever the tag says).
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache
from typing import Annotated

from pydantic import AfterValidator, Field

from ..images import MAX_REFERENCE_LENGTH, ImageReferenceError, parse_image
from ..podspec import PodView
from ..registry import CheckFn, CheckParams, check
from ..result import Finding


def _valid_entry(entry: str) -> str:
    registry_prefix(entry)  # raises ValueError naming the entry
    return entry


def registry_prefix(entry: str) -> tuple[str, str]:
    """`Registry.Example.com:5000/team/` -> ("registry.example.com:5000", "team").

    The entry must start with a registry host, as the grammar tells one (`.` or `:` in it, or
    `localhost`): a bare `acme` would mean `docker.io/acme` to the runtime, which is rarely what the
    author meant, so it is refused at load rather than guessed.
    """
    host, _, path = entry.strip().rstrip("/").partition("/")
    if not host or not ("." in host or ":" in host or host.lower() == "localhost"):
        raise ValueError(
            f"registry {entry!r} must start with a registry host such as docker.io, ghcr.io or "
            "registry.example.com:5000 (write docker.io/library for official Docker Hub images)"
        )
    # Validate host and path by the same grammar as images: `<entry>/x` must be a valid reference.
    try:
        parsed = parse_image(f"{host}/{path}/x" if path else f"{host}/x")
    except ImageReferenceError as exc:
        raise ValueError(f"registry {entry!r} is not a valid registry or repository prefix: {exc}") from None
    # (Without a path, `docker.io/x` would read as `docker.io/library/x`: keep only the host then.)
    return parsed.registry, parsed.repository.rpartition("/")[0] if path else ""


class Params(CheckParams):
    registries: list[Annotated[str, AfterValidator(_valid_entry)]] = Field(min_length=1)
    require_digest: bool = False
    forbid_latest: bool = False


def allowed_by(registry: str, repository: str, prefixes: tuple[tuple[str, str], ...]) -> bool:
    return any(
        registry == host and (not path or repository == path or repository.startswith(path + "/"))
        for host, path in prefixes
    )


@check("trusted-registries", params=Params, summary="images come only from trusted registries")
def build(params: Params) -> CheckFn:
    prefixes = tuple(registry_prefix(entry) for entry in params.registries)
    allowed_text = ", ".join(f"{host}/{path}" if path else host for host, path in prefixes)
    require_digest = params.require_digest
    forbid_latest = params.forbid_latest

    def problems(image: str) -> tuple[tuple[str, str], ...]:
        """(problem after the container's label, fix) for one image; empty when it is trusted."""
        try:
            ref = parse_image(image)
        except ImageReferenceError as exc:
            return ((f"has {exc}", "write a valid image reference"),)
        found = []
        if not allowed_by(ref.registry, ref.repository, prefixes):
            found.append((f"uses image {image!r} ({ref.name}) from an untrusted registry",
                          f"use an image from {allowed_text}"))  # fmt: skip
        if require_digest and not ref.digest:
            found.append((f"must pin image {image!r} by digest", "append @sha256:<digest> to the image"))
        elif forbid_latest and not ref.digest and ref.tag in (None, "latest"):
            found.append((f"must not use the latest tag (image {image!r})", "use a version tag or a digest"))
        return tuple(found)

    # The same few images recur in every request: judge each once (parse_image bounds the length
    # of what reaches the cache).
    cached = lru_cache(maxsize=4096)(problems)

    def run(pod: PodView) -> Iterator[Finding]:
        for c in pod.containers:
            image = c.image
            if not image:
                yield Finding(f"{c.path}.image", c.spec.get("image"), f"{c.label} has no image", "set image")
                continue
            verdict = cached(image) if len(image) <= MAX_REFERENCE_LENGTH else problems(image)
            for problem, fix in verdict:
                yield Finding(f"{c.path}.image", image, f"{c.label} {problem}", fix, image=image)

    return run
