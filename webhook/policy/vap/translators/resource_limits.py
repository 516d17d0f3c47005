"""resource-limits in CEL: presence, validity, bounds and limit/request ratios of container resources,
with the Kubernetes `quantity()` library (checks/resource_limits.py).

The check, and this translation, judge init and regular containers (ephemeral ones carry no resources):

- every value present (not null) is a quantity by the apimachinery grammar (at most 64 characters,
  exponent within ±1000, as quantity.parse_quantity reads it) or a finite number;
- a listed request is set, or implied by a set limit (`limitsImplyRequests`), or set at pod level;
  a listed limit is set, or set at pod level;
- bounds compare exactly (`compareTo`), the request being the limit when only the limit is set;
- `limit / request > ratio` is decided without division, which CEL quantities lack: with the ratio
  written as the fraction p/d, it is `d * limit > p * request` for a positive request (`<` for a
  negative one; a zero request exceeds any ratio when the limit is positive). Multiplying a quantity
  by a constant is repeated doubling with `add`, exact as Kubernetes quantities are.

Declined (left to the webhook, reported): a bound that Kubernetes' `quantity()` would not hold exactly
(finer than 1n: the API server rounds it up), and a ratio whose reduced fraction has a numerator or
denominator above 4095 (e.g. 1.3333 = 13333/10000): the products by repeated addition would nest
deeper than podgate's CEL runtime parses (32 levels, shared with the policy's variables).
"""

from __future__ import annotations

import json
from fractions import Fraction

from ...checks.resource_limits import Bounds, Params
from ...quantity import parse_quantity
from . import Translation, Untranslatable, translator
from ._cel import POD, list_at, present

_POD_RESOURCES = f"{POD}.resources"
POD_REQUESTED, POD_LIMITED = (
    {
        "name": name,
        "expression": f"{present(f'{_POD_RESOURCES}.{kind}')}"
        f" ? {_POD_RESOURCES}.{kind}.filter(k, {_POD_RESOURCES}.{kind}[k] != null) : []",
    }
    for name, kind in (("podRequested", "requests"), ("podLimited", "limits"))
)

# quantity.parse_quantity's grammar, anchored for RE2; its two extra bounds are tested apart.
QUANTITY_RE = r"^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[KMGTPE]i|[numkMGTPE]|[eE][+-]?[0-9]+)?$"
# An exponent beyond ±1000 (after leading zeros): five digits or more, or 1001..9999.
HUGE_EXPONENT_RE = r"[eE][+-]?0*(?:[1-9][0-9]{4,}|[2-9][0-9]{3}|1[1-9][0-9]{2}|10[1-9][0-9]|100[1-9])$"
MAX_QUANTITY_TEXT = 64
MAX_INT64 = 2**63 - 1
# Nesting: podgate's CEL runtime parses at most 32 levels, and binds each variable of a policy as one more.
MAX_RATIO_BITS = 12

# Per init and app container, its requests and limits ({} when absent or null), read once for all
# the validations. One variable: each is one more nesting level, and the ratio products need them.
# A null container gets [null, null], on which every use in a validation fails: that container alone
# is an error, as when each validation read them, so a false elsewhere still decides (an error inside
# `map` would fail the whole list, so every validation). Only a null test, as everywhere in the
# export: how `type()` reads a schema-typed object on the API server is not tested here. (A container
# or resources that is not a map is malformed input, which podgate refuses before any policy and the
# API server never sends.)
_CONTAINERS = " + ".join(list_at(f"{POD}.{field}") for field in ("initContainers", "containers"))
_RESOURCES = ", ".join(
    f"{present(path)} ? {path} : {{}}" for path in ("c.resources.requests", "c.resources.limits")
)
CONTAINER_RESOURCES = {
    "name": "containerResources",
    "expression": f"({_CONTAINERS}).map(c, c != null ? [{_RESOURCES}] : [null, null])",
}


def valid(value: str) -> str:
    """CEL: `value` (not null) is what parse_quantity accepts: a grammatical string or a finite number."""
    return (
        f"(type({value}) == string ? size({value}) <= {MAX_QUANTITY_TEXT}"
        f" && {value}.matches({json.dumps(QUANTITY_RE)}) && !{value}.matches({json.dumps(HUGE_EXPONENT_RE)})"
        f" : type({value}) == int || type({value}) == uint"
        f" || (type({value}) == double && {value} - {value} == 0.0))"  # inf - inf and NaN are not 0
    )


def as_quantity(value: str) -> str:
    return f"(type({value}) == string ? quantity({value}) : quantity(string({value})))"


def _set(resources: str, resource: str) -> str:
    key = json.dumps(resource)
    return f"({key} in {resources} && {resources}[{key}] != null)"


def _usable(resources: str, resource: str) -> str:
    """Set to a valid quantity: what the check keeps in its `values`."""
    return f"({_set(resources, resource)} && {valid(f'{resources}[{json.dumps(resource)}]')})"


def _value(kind: str, resource: str, imply: bool) -> str:
    """CEL: the container's value the check compares (a request implied by its limit), or null."""
    key = json.dumps(resource)
    if kind == "limits":
        return f"({_usable('lm', resource)} ? lm[{key}] : null)"
    implied = f"{_usable('lm', resource)} ? lm[{key}] : null" if imply else "null"
    return f"({_usable('rq', resource)} ? rq[{key}] : {implied})"


def _all_valid(resources: str) -> str:
    """CEL: every value of `resources` is null or valid, as `filter`, not `all`: cel-expr-python leaves a
    slot filled when `all` stops at a false, and a `cel.bind` of a later validation, joined with this
    one into one program, could read it (see webhook/policy/cel/stale_bind.py). `filter` runs to the
    end; the predicate cannot fail, so an error cannot tell them apart either."""
    return f"{resources}.filter(k, !({resources}[k] == null || {valid(f'{resources}[k]')})).size() == 0"


def _per_container(body: str) -> str:
    """CEL: `body` holds for every container, with its requests `rq` and limits `lm`."""
    return f"variables.containerResources.all(r, cel.bind(rq, r[0], cel.bind(lm, r[1], {body})))"


@translator("resource-limits")
def translate(params: Params) -> Translation:
    imply = params.limits_imply_requests
    validations = [
        {
            "expression": _per_container(f"{_all_valid('rq')} && {_all_valid('lm')}"),
            "message": "container resources must be Kubernetes quantities such as 500m, 2 or 512Mi",
        }
    ]
    for resource in params.requests:
        key = json.dumps(resource)
        accepted = [_set("rq", resource), f"{key} in variables.podRequested"]
        if imply:
            accepted += [_usable("lm", resource), f"{key} in variables.podLimited"]
        validations.append(
            {
                "expression": _per_container(" || ".join(accepted)),
                "message": f"containers must set resources.requests.{resource}",
            }
        )
    for resource in params.limits:
        key = json.dumps(resource)
        validations.append(
            {
                "expression": _per_container(f"{_set('lm', resource)} || {key} in variables.podLimited"),
                "message": f"containers must set resources.limits.{resource}",
            }
        )
    for kind, bounds, sign, word in (
        ("requests", params.min_requests, "<", "at least"),
        ("requests", params.max_requests, ">", "at most"),
        ("limits", params.min_limits, "<", "at least"),
        ("limits", params.max_limits, ">", "at most"),
    ):
        for bounded, (text, raw_bound) in _bounds(bounds).items():
            value = _value(kind, bounded, imply)
            validations.append(
                {
                    "expression": _per_container(
                        f"cel.bind(v, {value}, v == null"
                        f" || !({as_quantity('v')}.compareTo(quantity({json.dumps(text)})) {sign} 0))"
                    ),
                    "message": f"resources.{kind}.{bounded} must be {word} {raw_bound}",
                }
            )
    for resource, raw in sorted(params.max_limit_request_ratio.items()):
        ratio = Fraction(parse_quantity(raw))
        if max(ratio.numerator, ratio.denominator).bit_length() > MAX_RATIO_BITS:
            raise Untranslatable(
                f"maxLimitRequestRatio.{resource} {raw} is the fraction {ratio}: CEL quantities do not "
                f"multiply, and the exact products by repeated addition nest too deeply beyond "
                f"{2**MAX_RATIO_BITS - 1} as numerator or denominator"
            )
        limit, request = _value("limits", resource, imply), _value("requests", resource, imply)
        validations.append(
            {
                "expression": _per_container(
                    f"cel.bind(lr, [{limit}, {request}], lr[0] == null || lr[1] == null"
                    f" || !cel.bind(q, [{as_quantity('lr[0]')}, {as_quantity('lr[1]')}],"
                    f" {_ratio_exceeded(ratio)}))"
                ),
                "message": f"resources.limits.{resource} must be at most {raw} times"
                f" resources.requests.{resource}",
            }
        )
    return Translation(variables=[CONTAINER_RESOURCES, POD_REQUESTED, POD_LIMITED], validations=validations)


def _bounds(bounds: Bounds) -> dict[str, tuple[str, str | int | float]]:
    """resource -> (quantity text for CEL, the bound as written), declining bounds Kubernetes would round."""
    found: dict[str, tuple[str, str | int | float]] = {}
    for resource, raw in sorted(bounds.items()):
        value = parse_quantity(raw)
        if (Fraction(value) * 10**9).denominator != 1:
            raise Untranslatable(
                f"bound {resource} {raw} is finer than 1n: Kubernetes' quantity() rounds it up, so CEL "
                "would compare with another value"
            )
        text = raw if isinstance(raw, str) else format(value, "f")
        if isinstance(raw, str) and raw[-1:] == "i" and value > MAX_INT64:
            text = format(value, "f")  # quantity() caps binary-suffixed values at 2^63-1
        found[resource] = (text, raw)
    return found


def _ratio_exceeded(ratio: Fraction) -> str:
    """CEL over `q` = [limit, request] (quantities): limit / request > p / d, decided exactly as
    `d * limit` against `p * request`.

    CEL quantities add but do not multiply: both products are built at once, two bits per step
    (`4 * previous + digit * value`, one `cel.bind` per base-4 digit of the larger factor), since
    nested binds are what CEL parsers bound (podgate's runtime at a depth of 32).
    """
    digits = [_base4(f) for f in (ratio.denominator, ratio.numerator)]  # (d on limit, p on request)
    steps = max(len(d) for d in digits)
    digits = [[-1] * (steps - len(d)) + d for d in digits]  # -1: that product has not started yet
    name = "q"
    binds = []
    for step in range(steps):
        parts = []
        for side in (0, 1):
            digit, value, previous = digits[side][step], f"q[{side}]", f"{name}[{side}]"
            if digit < 0:
                parts.append("null")
            elif step == 0 or digits[side][step - 1] < 0:
                parts.append(".add(".join([value] * digit) + ")" * (digit - 1))
            else:
                four = f"{previous}.add({previous}).add({previous}.add({previous}))"
                parts.append(four + f".add({value})" * digit)
        name = f"m{step}"
        binds.append((name, f"[{', '.join(parts)}]"))
    body = (
        f"q[1].sign() > 0 ? {name}[0].compareTo({name}[1]) > 0"
        f" : q[1].sign() == 0 ? q[0].sign() > 0 : {name}[0].compareTo({name}[1]) < 0"
    )
    for bound, value in reversed(binds):
        body = f"cel.bind({bound}, {value}, {body})"
    return body


def _base4(factor: int) -> list[int]:
    digits = []
    while factor:
        factor, digit = divmod(factor, 4)
        digits.append(digit)
    return digits[::-1]
