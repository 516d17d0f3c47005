"""Kubernetes label syntax, for validating label keys and values given in policy parameters.

A key is an optional DNS-subdomain prefix and `/`, then a name of at most 63 characters
(alphanumerics, `-`, `_`, `.`, beginning and ending alphanumeric); a value is empty or such a name
(k8s.io/apimachinery/pkg/util/validation: IsQualifiedName, IsValidLabelValue).
"""

from __future__ import annotations

import re

_NAME = re.compile(r"([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?")
_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")


def label_key_problem(key: str) -> str | None:
    """Why `key` is not a valid label key, or None when it is."""
    prefix, slash, name = key.rpartition("/")
    if slash and (not prefix or len(prefix) > 253 or not _DNS_SUBDOMAIN.fullmatch(prefix)):
        return f"label key {key!r}: the prefix must be a DNS subdomain such as example.com"
    if not name or len(name) > 63 or not _NAME.fullmatch(name):
        return (
            f"label key {key!r}: the name must be 1-63 characters of letters, digits, '-', '_' and '.', "
            "beginning and ending with a letter or digit"
        )
    return None


def label_value_problem(value: str) -> str | None:
    """Why `value` is not a valid label value, or None when it is."""
    if len(value) > 63 or not _NAME.fullmatch(value):
        return (
            f"label value {value!r} must be at most 63 characters of letters, digits, '-', '_' and '.', "
            "beginning and ending with a letter or digit"
        )
    return None


def label_path(metadata_path: str, key: str) -> str:
    """`spec.template.metadata.labels.app`, or `...labels["app.kubernetes.io/name"]` for dotted keys."""
    plain = re.fullmatch(r"[A-Za-z0-9_-]+", key) is not None
    return f"{metadata_path}.labels.{key}" if plain else f'{metadata_path}.labels["{key}"]'
