"""Kubernetes resource quantities (`500m`, `1.5Gi`, `1e3`), read by the apimachinery grammar.

    <quantity>        ::= <signedNumber><suffix>
    <suffix>          ::= <binarySI> | <decimalExponent> | <decimalSI>
    <binarySI>        ::= Ki | Mi | Gi | Ti | Pi | Ei
    <decimalSI>       ::= n | u | m | "" | k | M | G | T | P | E
    <decimalExponent> ::= "e" <signedNumber> | "E" <signedNumber>     (the exponent is an integer)
    <signedNumber>    ::= <number> | <sign><number>
    <number>          ::= <digits> | <digits>.<digits> | <digits>. | .<digits>

(k8s.io/apimachinery/pkg/api/resource/quantity.go; `n` and `u` are not in its comment but its parser
takes them.) The official Python client's `parse_quantity` is looser than this grammar: it lets
Python's Decimal read the number, so it takes `NaN`, `1_000`, ` 1 ` and `1e3Mi`, which the API server
refuses. We check the grammar first and compute exactly with Decimal; the tests compare both parsers on
every input the grammar accepts.
"""

from __future__ import annotations

import math
import re
from decimal import Context, Decimal
from functools import lru_cache

_QUANTITY = re.compile(
    r"(?P<number>[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))"
    r"(?:(?P<binary>[KMGTPE]i)|(?P<decimal>[numkMGTPE])|[eE](?P<exponent>[+-]?[0-9]+))?"
)
_DECIMAL_EXPONENTS = {"n": -9, "u": -6, "m": -3, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_BINARY_POWERS = {"Ki": 1, "Mi": 2, "Gi": 3, "Ti": 4, "Pi": 5, "Ei": 6}
# Exact for any realistic quantity: 1Ei has 19 digits, a long decimal fraction a few dozen more.
EXACT = Context(prec=80)
# The API server keeps quantities in int64 nano-units at most; anything near this is malformed input.
_MAX_EXPONENT = 1000


class QuantityError(ValueError):
    pass


def parse_quantity(value: str | int | float) -> Decimal:
    """The value of a quantity as a Decimal (`"1.5Gi"` -> 1610612736); QuantityError when invalid.

    Numbers are accepted as YAML/JSON give them (`cpu: 2`, `cpu: 0.5`), as the API server does.
    """
    if isinstance(value, bool):
        raise QuantityError(f"{value!r} is not a quantity")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise QuantityError(f"{value!r} is not a quantity")
        return _parse(repr(value))
    if not isinstance(value, str):
        raise QuantityError(f"{value!r} is not a quantity")
    return _parse(value)


@lru_cache(maxsize=1024)  # the same few quantities recur in every request
def _parse(text: str) -> Decimal:
    match = _QUANTITY.fullmatch(text) if len(text) <= 64 else None
    if match is None:
        raise QuantityError(
            f"{text[:64]!r} is not a Kubernetes quantity (expected a number with an optional suffix "
            "such as 250m, 1.5, 2Gi, 512Mi, 1e3)"
        )
    number = Decimal(match["number"])
    if match["binary"]:
        return EXACT.multiply(number, Decimal(1024) ** _BINARY_POWERS[match["binary"]])
    exponent = _DECIMAL_EXPONENTS[match["decimal"]] if match["decimal"] else 0
    if match["exponent"]:
        exponent = int(match["exponent"])
        if abs(exponent) > _MAX_EXPONENT:
            raise QuantityError(f"{text!r}: the exponent is out of range")
    return number.scaleb(exponent, EXACT)
