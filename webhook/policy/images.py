"""Container image references, parsed by the distribution reference grammar.

`nginx` is `docker.io/library/nginx` with no tag (the runtime pulls `:latest`); a first path component
with a `.` or `:` or equal to `localhost` is a registry host; the rest is the repository path. Parsing is
delegated to `docker-image-py`, a port of the distribution project's own `reference` package, so that we
read a reference exactly as the container runtime will.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from docker_image import digest as _digest
from docker_image import reference as _reference
from docker_image import regexp as _regexps


@dataclass(frozen=True, slots=True)
class ImageRef:
    registry: str  # host[:port], lower-cased: DNS names are case-insensitive
    repository: str  # path below the registry, e.g. "library/nginx"
    tag: str | None
    digest: str | None  # "sha256:..."

    @property
    def name(self) -> str:
        return f"{self.registry}/{self.repository}"

    def __str__(self) -> str:
        text = self.name
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text


class ImageReferenceError(ValueError):
    pass


# A repository name is at most 255 characters; with a tag (128) and a digest this bounds any valid
# reference. Longer input is rejected before it reaches the regexes or the cache.
MAX_REFERENCE_LENGTH = 512


def parse_image(text: str) -> ImageRef:
    """Parse an image reference as the runtime would; raise ImageReferenceError when it is invalid."""
    if len(text) > MAX_REFERENCE_LENGTH:
        raise ImageReferenceError(
            f"invalid image reference {text[:40]!r}...: longer than {MAX_REFERENCE_LENGTH}"
        )
    return _parse(text)


@lru_cache(maxsize=4096)  # the same few images recur in every request
def _parse(text: str) -> ImageRef:
    if not text or text != text.strip():
        raise ImageReferenceError(f"invalid image reference {text!r}: empty or surrounded by white space")
    # Fast path for `name:tag`: the name (a handful per registry path, shared by every tag of every
    # build) is parsed once by the library and cached, the tag checked with the library's own pattern.
    # By the grammar (name [":" tag] ["@" digest]) a valid name plus a valid tag is a valid reference;
    # anything else, and every error, goes through the full parse (tests/test_images_fast.py compares).
    # It pays on an audit's many distinct tags: bench/images.py and docs/performance.md measure it.
    if "@" not in text:
        colon = text.rfind(":")
        if colon > text.rfind("/"):
            tag = text[colon + 1 :]
            if tag.isascii() and _TAG.match(tag):
                named = _parse_name(text[:colon])
                if named is not None:
                    return ImageRef(named.registry, named.repository, tag, None)
    return _parse_with_library(text)


_TAG = _regexps.ImageRegexps.ANCHORED_TAG_REGEXP


@lru_cache(maxsize=4096)
def _parse_name(name: str) -> ImageRef | None:
    """A reference without tag or digest, or None when the library refuses it (the caller re-parses)."""
    try:
        ref = _parse_with_library(name)
    except ImageReferenceError:
        return None
    return ref if ref.tag is None and ref.digest is None else None


def _parse_with_library(text: str) -> ImageRef:
    try:
        ref = _reference.Reference.parse_normalized_named(text)
    # (A malformed digest raises the digest module's InvalidDigest, which is not an InvalidReference.)
    except (_reference.InvalidReference, _digest.InvalidDigest) as exc:
        reason = str(exc) or type(exc).__name__
        raise ImageReferenceError(f"invalid image reference {text!r}: {reason}") from None
    domain, path = ref.split_hostname()
    return ImageRef(registry=domain.lower(), repository=path, tag=ref["tag"], digest=ref["digest"])


def normalize_image(text: str) -> str | None:
    """The fully qualified form (`docker.io/library/nginx:1.27`), or None when it does not parse."""
    try:
        return str(parse_image(text))
    except ImageReferenceError:
        return None
