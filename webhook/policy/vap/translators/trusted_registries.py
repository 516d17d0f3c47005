"""trusted-registries in CEL: the distribution reference grammar, as images.parse_image reads it
(checks/trusted_registries.py).

podgate parses an image with `Reference.parse_normalized_named` (docker-image-py, a port of the
distribution project's `reference` package). The CEL below follows its steps one by one:

1. split off the first path component; it names the registry when there is a `/` after it and it is
   `localhost`, holds a `.` or a `:`, or has an upper-case letter; `index.docker.io` is `docker.io`;
   otherwise the registry is `docker.io` and the whole reference is the remainder;
2. on `docker.io`, a remainder without `/` gets `library/` (`nginx` -> `docker.io/library/nginx`);
3. the reference is valid when the registry is a host (DNS name or `[IPv6]`, optional `:port`), the
   remainder is `path(:tag)?(@digest)?` by the grammar, the repository path is at most 255 characters,
   the digest is a known algorithm with its exact length in lower-case hex, the whole reference is at
   most 512 characters and is not a bare 64-hex-digit image id;
4. the registry compares lower-cased; the repository is the remainder before `:` or `@`.

Every regular expression here uses only ASCII literals, classes and counted repeats, which RE2 (CEL's
`matches`) and Python's `regex` read identically; all are anchored with `^...$` (RE2's `$` is the end
of text; Python's would also match before a final newline, which podgate refuses beforehand as
surrounding white space). tests/test_vap_translators_registries_resources.py compares this CEL with
parse_image on generated references.
"""

from __future__ import annotations

import json

from docker_image.reference import NAME_TOTAL_LENGTH_MAX as MAX_PATH_LENGTH

from ...checks.trusted_registries import Params, registry_prefix
from ...images import MAX_REFERENCE_LENGTH
from . import Translation, translator
from ._cel import ALL_CONTAINERS

# github.com/distribution/reference/regexp.go, in RE2 (`\w` spelled out: ASCII in both dialects).
_HOST_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_HOST = rf"(?:{_HOST_COMPONENT}(?:\.{_HOST_COMPONENT})*|\[[a-fA-F0-9:]+\])"
DOMAIN_AND_PORT = rf"{_HOST}(?::[0-9]+)?"
_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_TAG = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"
# docker_image.digest.validate_digest: sha256/384/512 with exactly 32/48/64 bytes of lower-case hex.
_DIGEST = r"(?:sha256:[0-9a-f]{64}|sha384:[0-9a-f]{96}|sha512:[0-9a-f]{128})"
REMAINDER = rf"{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*(?::{_TAG})?(?:@{_DIGEST})?"

IMAGES = {
    "name": "images",
    "expression": "variables.allContainers.map(c, has(c.image) && c.image != null ? c.image : '')",
}

# Each image as {valid, registry, remainder}: `remainder` is `path(:tag)?(@digest)?` after the registry.
_FIRST_IS_HOST = (
    "slash >= 0 && (first == 'localhost' || first.contains('.') || first.contains(':')"
    " || first.lowerAscii() != first)"
)
_VALID = (
    f"size(i) > 0 && size(i) <= {MAX_REFERENCE_LENGTH} && !i.matches('^[a-f0-9]{{64}}$')"
    f" && domain.matches({json.dumps(f'^{DOMAIN_AND_PORT}$')})"
    f" && rest.matches({json.dumps(f'^{REMAINDER}$')})"
    f" && rest.matches({json.dumps(f'^[^:@]{{0,{MAX_PATH_LENGTH}}}(?:[:@]|$)')})"
)
IMAGE_REFERENCES = {
    "name": "imageReferences",
    "expression": "variables.images.map(i, cel.bind(slash, i.indexOf('/'),"
    " cel.bind(first, slash < 0 ? '' : i.substring(0, slash),"
    f" cel.bind(isHost, {_FIRST_IS_HOST},"
    " cel.bind(domain, !isHost || first == 'index.docker.io' ? 'docker.io' : first,"
    " cel.bind(remainder, isHost ? i.substring(slash + 1) : i,"
    " cel.bind(rest, domain == 'docker.io' && !remainder.contains('/') ? 'library/' + remainder : remainder,"
    f" {{'valid': {_VALID}, 'registry': domain.lowerAscii(), 'remainder': rest}})))))))",
}


@translator("trusted-registries")
def translate(params: Params) -> Translation:
    prefixes = [registry_prefix(entry) for entry in params.registries]
    allowed_text = ", ".join(f"{host}/{path}" if path else host for host, path in prefixes)
    trusted = " || ".join(_trusted(host, path) for host, path in prefixes)
    validations = [
        {
            "expression": "variables.imageReferences.all(r, r.valid)",
            "message": "every container must name a valid image reference",
        },
        {
            "expression": f"variables.imageReferences.all(r, !r.valid || {trusted})",
            "message": f"images must come from a trusted registry: use an image from {allowed_text}",
        },
    ]
    if params.require_digest:
        validations.append(
            {
                "expression": "variables.imageReferences.all(r, !r.valid || r.remainder.contains('@'))",
                "message": "images must be pinned by digest: append @sha256:<digest> to the image",
            }
        )
    if params.forbid_latest:
        validations.append(
            {
                # No digest, and no tag or the tag `latest`: the runtime pulls whatever latest is now.
                "expression": "variables.imageReferences.all(r, !r.valid || r.remainder.contains('@')"
                " || !r.remainder.matches('^[^:@]*(?::latest)?$'))",
                "message": "images must not use the latest tag: use a version tag or a digest",
            }
        )
    return Translation(variables=[ALL_CONTAINERS, IMAGES, IMAGE_REFERENCES], validations=validations)


def _trusted(host: str, path: str) -> str:
    """The reference is from `host` (lower-cased), with its repository `path` or below on a `/`."""
    test = f"r.registry == {json.dumps(host)}"
    if path:
        # The repository is the remainder before `:` or `@`; it must be `path` or `path/...`.
        below = "^" + path.replace(".", "\\.") + "(?:/[^:@]*)?(?:[:@]|$)"
        test += f" && r.remainder.matches({json.dumps(below)})"
    return f"({test})"
