"""The `name:tag` fast path of images.parse_image reads every reference exactly as the library does."""

from __future__ import annotations

import itertools

import pytest

from webhook.policy import images
from webhook.policy.images import ImageRef, ImageReferenceError

HOSTS = ["", "docker.io", "index.docker.io", "localhost", "localhost:5000", "Registry.Example.com",
         "ghcr.io", "a.b:99999", "bad_host.com", "UPPER", "x-.io", "[::1]:5000", "host:port", "h.io:"]  # fmt: skip
PATHS = ["nginx", "library/nginx", "acme/app", "Acme/app", "a/b/c", "a//b", "a_b/c__d", "a-.b", "x" * 300,
         "-a", "a" * 64, "f" * 64, "a:b/c", "app:1/x", "ü", "a.b/c"]  # fmt: skip
TAGS = [None, "1", "1.27", "latest", "V1_2-3", "-bad", ".bad", "a" * 128, "a" * 129, "", "ü", "a:b", "5000"]
DIGESTS = [None, "sha256:" + "a" * 64, "sha256:abc"]


def references() -> list[str]:
    found = []
    for host, path, tag, digest in itertools.product(HOSTS, PATHS, TAGS, DIGESTS):
        text = f"{host}/{path}" if host else path
        if tag is not None:
            text += f":{tag}"
        if digest is not None:
            text += f"@{digest}"
        found.append(text)
    return found


def outcome(parse: object, text: str) -> ImageRef | str:
    try:
        return parse(text)  # type: ignore[operator, no-any-return]
    except ImageReferenceError as exc:
        return f"error: {exc}"


def test_fast_path_agrees_with_the_library_on_every_combination() -> None:
    texts = references()
    fast = images._parse.__wrapped__  # not the cached one: every text goes through the fast path
    disagreements = [
        (t, outcome(fast, t), outcome(images._parse_with_library, t))
        for t in texts
        if outcome(fast, t) != outcome(images._parse_with_library, t)
    ]
    assert disagreements == []
    valid_tagged = [t for t in texts if "@" not in t and isinstance(outcome(fast, t), ImageRef)]
    assert len(valid_tagged) > 200  # the fast path is exercised, not only the fallback


@pytest.mark.parametrize("tag", ["1.0", "v2", "latest"])
def test_every_tag_of_one_name_parses_the_name_once(tag: str) -> None:
    images._parse_name.cache_clear()
    images._parse.cache_clear()
    for build in range(50):
        images.parse_image(f"registry.example.com/team/app:{tag}.{build}")
    assert images._parse_name.cache_info().misses == 1


def test_the_name_cache_stays_bounded() -> None:
    images._parse_name.cache_clear()
    for n in range(5_000):
        images.parse_image(f"registry.example.com/team/app{n}:v1")
    assert images._parse_name.cache_info().currsize <= 4096
