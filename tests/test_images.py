"""Image references are read by the distribution grammar, exactly as the container runtime reads them."""

from __future__ import annotations

import pytest

from webhook.policy.images import ImageReferenceError, normalize_image, parse_image


@pytest.mark.parametrize(
    ("text", "registry", "repository", "tag", "digest"),
    [
        ("nginx", "docker.io", "library/nginx", None, None),
        ("nginx:1.27", "docker.io", "library/nginx", "1.27", None),
        ("acme/app", "docker.io", "acme/app", None, None),
        ("localhost/app", "localhost", "app", None, None),
        ("localhost:5000/app:v1", "localhost:5000", "app", "v1", None),
        ("Registry.Example.com/acme/app", "registry.example.com", "acme/app", None, None),
        (
            "registry.example.com:5000/acme/team/app:2.0",
            "registry.example.com:5000",
            "acme/team/app",
            "2.0",
            None,
        ),
        ("ghcr.io/acme/app@sha256:" + "a" * 64, "ghcr.io", "acme/app", None, "sha256:" + "a" * 64),
        ("ghcr.io/acme/app:1@sha256:" + "b" * 64, "ghcr.io", "acme/app", "1", "sha256:" + "b" * 64),
    ],
)
def test_references_parse_like_the_runtime(
    text: str, registry: str, repository: str, tag: str | None, digest: str | None
) -> None:
    ref = parse_image(text)
    assert (ref.registry, ref.repository, ref.tag, ref.digest) == (registry, repository, tag, digest)


@pytest.mark.parametrize(
    "text",
    ["", " nginx", "nginx ", "acme/App", "nginx:", "nginx@sha256:123", "a" * 600, "ghcr.io//x", "x:y:z"],
)
def test_invalid_references_are_errors(text: str) -> None:
    with pytest.raises(ImageReferenceError):
        parse_image(text)
    assert normalize_image(text) is None


def test_normalised_form() -> None:
    assert normalize_image("nginx:1.27") == "docker.io/library/nginx:1.27"
    assert normalize_image("busybox") == "docker.io/library/busybox"
