"""Kubernetes quantities: the apimachinery grammar, exact values, and agreement with the official client."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from kubernetes.utils.quantity import parse_quantity as client_parse_quantity

from webhook.policy.quantity import QuantityError, parse_quantity

VALID = [
    ("0", Decimal(0)),
    ("1", Decimal(1)),
    ("500m", Decimal("0.5")),
    ("0.5", Decimal("0.5")),
    (".5", Decimal("0.5")),
    ("5.", Decimal(5)),
    ("+1k", Decimal(1000)),
    ("-1", Decimal(-1)),
    ("100n", Decimal("0.0000001")),
    ("1u", Decimal("0.000001")),
    ("1Ki", Decimal(1024)),
    ("1.5Gi", Decimal(1610612736)),
    ("128Mi", Decimal(134217728)),
    ("1Ei", Decimal(1024**6)),
    ("1E", Decimal(10**18)),  # exa
    ("1E3", Decimal(1000)),  # exponent
    ("1e3", Decimal(1000)),
    ("12e-3", Decimal("0.012")),
    ("2M", Decimal(2_000_000)),
    (2, Decimal(2)),
    (0.25, Decimal("0.25")),
]
INVALID = ["", " 1", "1 ", "1_000", "NaN", "Infinity", "inf", ".", "+", "1ki", "1mi", "1KiB", "1e", "1e3Mi", "1.5.5",
           "1e1.5", "1Gb", "0x10", "1K", "1 Mi", "٣", True, float("nan"), float("inf"), None, "1" * 65]  # fmt: skip


@pytest.mark.parametrize(("text", "value"), VALID, ids=[str(v[0]) for v in VALID])
def test_valid(text: str | int | float, value: Decimal) -> None:
    assert parse_quantity(text) == value


@pytest.mark.parametrize("text", INVALID, ids=[repr(v) for v in INVALID])
def test_invalid(text: object) -> None:
    with pytest.raises(QuantityError):
        parse_quantity(text)  # type: ignore[arg-type]


def test_huge_exponent_is_refused_not_computed() -> None:
    with pytest.raises(QuantityError, match="out of range"):
        parse_quantity("1e999999999")


digits = st.text("0123456789", min_size=1, max_size=6)
numbers = st.one_of(digits, st.builds(lambda a, b: f"{a}.{b}", digits, digits), digits.map(lambda d: f".{d}"))
suffixes = st.sampled_from(["", "m", "k", "M", "G", "T", "Ki", "Mi", "Gi", "Ti", "e3", "E-2", "e+1"])


@given(sign=st.sampled_from(["", "+", "-"]), number=numbers, suffix=suffixes)
def test_agrees_with_the_official_client_on_the_grammar(sign: str, number: str, suffix: str) -> None:
    text = f"{sign}{number}{suffix}"
    assert parse_quantity(text) == client_parse_quantity(text)
