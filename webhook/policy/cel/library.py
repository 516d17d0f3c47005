"""The Kubernetes CEL libraries, on top of cel-expr-python (Google's CEL C++ runtime).

The CEL standard library, the `strings`, `optional` and `bindings` (`cel.bind`) extensions come from
cel-expr-python itself. The libraries the API server adds for admission policies are declared here,
with their Kubernetes names and receivers, so an expression written for a ValidatingAdmissionPolicy
compiles and means the same here:

  lists     l.isSorted() l.sum() l.min() l.max() l.indexOf(x) l.lastIndexOf(x)
  regex     s.find(re) s.findAll(re) s.findAll(re, n)
  URLs      url(s) isURL(s) u.getScheme() u.getHost() u.getHostname() u.getPort() u.getEscapedPath()
            u.getQuery()
  quantity  quantity(s) isQuantity(s) q.isInteger() q.asInteger() q.asApproximateFloat() q.sign()
            q.add(q|int) q.sub(q|int) q.isGreaterThan(q) q.isLessThan(q) q.compareTo(q)
  IP/CIDR   ip(s) isIP(s) ip.isCanonical(s) i.family() i.isUnspecified() i.isLoopback()
            i.isLinkLocalMulticast() i.isLinkLocalUnicast() i.isGlobalUnicast()
            cidr(s) isCIDR(s) c.containsIP(i|s) c.containsCIDR(c|s) c.ip() c.masked() c.prefixLength()

cel-expr-python cannot carry opaque Python objects, so a URL, quantity, IP or CIDR value is a one-key
map tagged with its type (`{"@quantity": "100Mi"}`); the functions check the tag, so a plain map is
refused with a clear error. Comparing two such values with `==` compares their text: use
`compareTo` for quantities, as the Kubernetes documentation advises anyway.

Regular expressions in `find`/`findAll` use Python's `re` (the standard `matches` uses RE2 inside
the CEL runtime); patterns valid in RE2 and written for Kubernetes behave the same in the common subset.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

from cel_expr_python import cel
from cel_expr_python.ext import ext_bindings, ext_optional, ext_strings

from ..quantity import EXACT, QuantityError, parse_quantity

T = cel.Type
TAGGED = T.Map(T.STRING, T.STRING)  # how URL, quantity, IP and CIDR values travel
LIST = T.List(T.DYN)


class CelFunctionError(ValueError):
    """An argument a Kubernetes library function refuses; becomes a CEL evaluation error."""


def _tagged(tag: str, value: Any) -> str:
    # (`type() is dict` first: the usual case, and an ABC isinstance is slow on a hot path)
    if (type(value) is dict or isinstance(value, Mapping)) and len(value) == 1 and tag in value:
        text = value[tag]
        if isinstance(text, str):
            return text
    raise CelFunctionError(f"expected a {tag[1:]} value, got {value!r}")


# --- lists ---------------------------------------------------------------------------------------


def _is_sorted(items: Sequence[Any]) -> bool:
    return all(items[i] <= items[i + 1] for i in range(len(items) - 1))


def _sum(items: Sequence[Any]) -> Any:
    if not items:
        return 0
    total = items[0]
    for item in items[1:]:
        total = total + item
    return total


def _min(items: Sequence[Any]) -> Any:
    if not items:
        raise CelFunctionError("min() called on an empty list")
    return min(items)


def _max(items: Sequence[Any]) -> Any:
    if not items:
        raise CelFunctionError("max() called on an empty list")
    return max(items)


def _index_of(items: Sequence[Any], value: Any) -> int:
    for i, item in enumerate(items):
        if item == value and type(item) is type(value):
            return i
    return -1


def _last_index_of(items: Sequence[Any], value: Any) -> int:
    for i in range(len(items) - 1, -1, -1):
        if items[i] == value and type(items[i]) is type(value):
            return i
    return -1


# --- regex ---------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=512)
def _regex(pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise CelFunctionError(f"invalid regular expression {pattern!r}: {exc}") from None


def _find(text: str, pattern: str) -> str:
    found = _regex(pattern).search(text)
    return found.group(0) if found else ""


def _find_all(text: str, pattern: str, limit: int = -1) -> list[str]:
    if limit == 0:
        return []
    found = [m.group(0) for m in _regex(pattern).finditer(text)]
    return found if limit < 0 else found[:limit]


# --- URLs ----------------------------------------------------------------------------------------


def _parse_url(text: str) -> Any:
    parts = urlsplit(text)
    if not parts.scheme and not text.startswith("/"):
        raise CelFunctionError(f"URL {text!r} is not absolute and not an absolute path")
    if any(c in text for c in " \t\n"):
        raise CelFunctionError(f"URL {text!r} contains white space")
    try:
        parts.port  # noqa: B018  (raises on an invalid port)
    except ValueError as exc:
        raise CelFunctionError(f"URL {text!r}: {exc}") from None
    return parts


def _url(text: str) -> dict[str, str]:
    _parse_url(text)
    return {"@url": text}


def _is_url(text: str) -> bool:
    try:
        _parse_url(text)
    except CelFunctionError:
        return False
    return True


def _url_part(value: Any) -> Any:
    return _parse_url(_tagged("@url", value))


def _hostname(value: Any) -> str:
    host: str = _url_part(value).netloc.rpartition("@")[2]
    if host.startswith("["):
        return host[1 : host.index("]")]
    return host.rpartition(":")[0] if ":" in host else host


def _port(value: Any) -> str:
    host = _url_part(value).netloc.rpartition("@")[2]
    tail = host[host.index("]") + 1 :] if host.startswith("[") else host
    return tail.rpartition(":")[2] if ":" in tail else ""


def _query(value: Any) -> dict[str, list[str]]:
    return {k: list(v) for k, v in parse_qs(_url_part(value).query, keep_blank_values=True).items()}


# --- quantities ----------------------------------------------------------------------------------


@functools.lru_cache(maxsize=1024)  # a rule reads the same few quantities many times per request
def _parse_q(text: str) -> Decimal:
    """The engine's reading of a quantity (k8s.io/apimachinery's grammar), so CEL and checks agree."""
    try:
        return parse_quantity(text)
    except QuantityError as exc:
        raise CelFunctionError(str(exc)) from None


def _quantity(text: str) -> dict[str, str]:
    _parse_q(text)
    return {"@quantity": text}


def _is_quantity(text: str) -> bool:
    try:
        _parse_q(text)
    except CelFunctionError:
        return False
    return True


def _q(value: Any) -> Decimal:
    return _parse_q(_tagged("@quantity", value))


def _q_operand(value: Any) -> Decimal:
    return Decimal(value) if isinstance(value, int) and not isinstance(value, bool) else _q(value)


def _q_result(amount: Decimal) -> dict[str, str]:
    text = format(EXACT.normalize(amount), "f")
    return {"@quantity": text}


def _as_integer(value: Any) -> int:
    amount = _q(value)
    if amount != amount.to_integral_value() or not -(2**63) <= amount < 2**63:
        raise CelFunctionError(f"quantity {_tagged('@quantity', value)!r} is not an int64 integer")
    return int(amount)


def _compare(left: Any, right: Any) -> int:
    a, b = _q(left), _q(right)
    return (a > b) - (a < b)


# Named (not lambdas) so that the CEL fast path (to_python.py) calls these very functions.
def _is_integer(value: Any) -> bool:
    return _q(value) == _q(value).to_integral_value()


def _as_approximate_float(value: Any) -> float:
    return float(_q(value))


def _sign(value: Any) -> int:
    return (_q(value) > 0) - (_q(value) < 0)


def _q_add(left: Any, right: Any) -> dict[str, str]:
    return _q_result(EXACT.add(_q(left), _q_operand(right)))


def _q_sub(left: Any, right: Any) -> dict[str, str]:
    return _q_result(EXACT.subtract(_q(left), _q_operand(right)))


def _is_greater_than(left: Any, right: Any) -> bool:
    return _compare(left, right) > 0


def _is_less_than(left: Any, right: Any) -> bool:
    return _compare(left, right) < 0


# --- IP and CIDR ---------------------------------------------------------------------------------


def _parse_ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    if "%" in text:
        raise CelFunctionError(f"IP address {text!r} with a zone is not allowed")
    try:
        address = ipaddress.ip_address(text)
    except ValueError as exc:
        raise CelFunctionError(f"{text!r} is not an IP address: {exc}") from None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        raise CelFunctionError(f"IPv4-mapped IPv6 address {text!r} is not allowed")
    return address


def _parse_cidr(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    address, slash, _ = text.partition("/")
    if not slash:
        raise CelFunctionError(f"{text!r} is not a CIDR (no prefix length)")
    _parse_ip(address)
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError as exc:
        raise CelFunctionError(f"{text!r} is not a CIDR: {exc}") from None


def _ip(text: str) -> dict[str, str]:
    _parse_ip(text)
    return {"@ip": text}


def _is_ip(text: str) -> bool:
    try:
        _parse_ip(text)
    except CelFunctionError:
        return False
    return True


def _ip_is_canonical(text: str) -> bool:
    return str(_parse_ip(text)) == text


def _ipv(value: Any) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    return _parse_ip(_tagged("@ip", value))


def _cidr(text: str) -> dict[str, str]:
    _parse_cidr(text)
    return {"@cidr": text}


def _is_cidr(text: str) -> bool:
    try:
        _parse_cidr(text)
    except CelFunctionError:
        return False
    return True


def _net(value: Any) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    return _parse_cidr(_tagged("@cidr", value))


def _contains_ip(cidr: Any, address: Any) -> bool:
    ip = _parse_ip(address) if isinstance(address, str) else _ipv(address)
    return ip in _net(cidr)


def _contains_cidr(cidr: Any, other: Any) -> bool:
    inner = _parse_cidr(other) if isinstance(other, str) else _net(other)
    outer = _net(cidr)
    return inner.version == outer.version and inner.subnet_of(outer)  # type: ignore[arg-type]


def _cidr_ip(cidr: Any) -> dict[str, str]:
    return {"@ip": _tagged("@cidr", cidr).partition("/")[0]}


def _masked(cidr: Any) -> dict[str, str]:
    return {"@cidr": str(_net(cidr))}


# --- declarations --------------------------------------------------------------------------------


def _member(
    name: str, result: cel.Type, receiver: cel.Type, *args: cel.Type, impl: Callable[..., Any]
) -> Any:
    ids = "_".join([name, receiver.name(), *(a.name() for a in args)]).lower()
    return cel.Overload(re.sub(r"\W", "_", ids), result, [receiver, *args], is_member=True, impl=impl)


def _global(name: str, result: cel.Type, *args: cel.Type, impl: Callable[..., Any]) -> Any:
    ids = "_".join(["g", name, *(a.name() for a in args)]).lower()
    return cel.Overload(re.sub(r"\W", "_", ids), result, list(args), impl=impl)


def kubernetes_functions() -> list[Any]:
    S, B, N, D = T.STRING, T.BOOL, T.INT, T.DOUBLE
    Q = TAGGED
    overloads: dict[str, list[Any]] = {
        # lists
        "isSorted": [_member("isSorted", B, LIST, impl=_is_sorted)],
        "sum": [_member("sum", T.DYN, LIST, impl=_sum)],
        "min": [_member("min", T.DYN, LIST, impl=_min)],
        "max": [_member("max", T.DYN, LIST, impl=_max)],
        "indexOf": [_member("indexOf", N, LIST, T.DYN, impl=_index_of)],
        "lastIndexOf": [_member("lastIndexOf", N, LIST, T.DYN, impl=_last_index_of)],
        # regex
        "find": [_member("find", S, S, S, impl=_find)],
        "findAll": [
            _member("findAll", T.List(S), S, S, impl=_find_all),
            _member("findAll", T.List(S), S, S, N, impl=_find_all),
        ],
        # URLs
        "url": [_global("url", Q, S, impl=_url)],
        "isURL": [_global("isURL", B, S, impl=_is_url)],
        "getScheme": [_member("getScheme", S, Q, impl=lambda u: _url_part(u).scheme)],
        "getHost": [_member("getHost", S, Q, impl=lambda u: _url_part(u).netloc.rpartition("@")[2])],
        "getHostname": [_member("getHostname", S, Q, impl=_hostname)],
        "getPort": [_member("getPort", S, Q, impl=_port)],
        "getEscapedPath": [_member("getEscapedPath", S, Q, impl=lambda u: _url_part(u).path)],
        "getQuery": [_member("getQuery", T.Map(S, T.List(S)), Q, impl=_query)],
        # quantities
        "quantity": [_global("quantity", Q, S, impl=_quantity)],
        "isQuantity": [_global("isQuantity", B, S, impl=_is_quantity)],
        "isInteger": [_member("isInteger", B, Q, impl=_is_integer)],
        "asInteger": [_member("asInteger", N, Q, impl=_as_integer)],
        "asApproximateFloat": [_member("asApproximateFloat", D, Q, impl=_as_approximate_float)],
        "sign": [_member("sign", N, Q, impl=_sign)],
        "add": [_member("add", Q, Q, Q, impl=_q_add), _member("add", Q, Q, N, impl=_q_add)],
        "sub": [_member("sub", Q, Q, Q, impl=_q_sub), _member("sub", Q, Q, N, impl=_q_sub)],
        "isGreaterThan": [_member("isGreaterThan", B, Q, Q, impl=_is_greater_than)],
        "isLessThan": [_member("isLessThan", B, Q, Q, impl=_is_less_than)],
        "compareTo": [_member("compareTo", N, Q, Q, impl=_compare)],
        # IP and CIDR
        "ip": [_global("ip", Q, S, impl=_ip), _member("ip", Q, Q, impl=_cidr_ip)],
        "isIP": [_global("isIP", B, S, impl=_is_ip)],
        "ip.isCanonical": [_global("ip.isCanonical", B, S, impl=_ip_is_canonical)],
        "family": [_member("family", N, Q, impl=lambda i: _ipv(i).version)],
        "isUnspecified": [_member("isUnspecified", B, Q, impl=lambda i: _ipv(i).is_unspecified)],
        "isLoopback": [_member("isLoopback", B, Q, impl=lambda i: _ipv(i).is_loopback)],
        "isLinkLocalMulticast": [
            _member(
                "isLinkLocalMulticast", B, Q, impl=lambda i: _ipv(i) in _LINK_LOCAL_MULTICAST[_ipv(i).version]
            )
        ],
        "isLinkLocalUnicast": [_member("isLinkLocalUnicast", B, Q, impl=lambda i: _ipv(i).is_link_local)],
        "isGlobalUnicast": [_member("isGlobalUnicast", B, Q, impl=_is_global_unicast)],
        "cidr": [_global("cidr", Q, S, impl=_cidr)],
        "isCIDR": [_global("isCIDR", B, S, impl=_is_cidr)],
        "containsIP": [
            _member("containsIP", B, Q, Q, impl=_contains_ip),
            _member("containsIP", B, Q, S, impl=_contains_ip),
        ],
        "containsCIDR": [
            _member("containsCIDR", B, Q, Q, impl=_contains_cidr),
            _member("containsCIDR", B, Q, S, impl=_contains_cidr),
        ],
        "masked": [_member("masked", Q, Q, impl=_masked)],
        "prefixLength": [_member("prefixLength", N, Q, impl=lambda c: _net(c).prefixlen)],
    }
    return [cel.FunctionDecl(name, decls) for name, decls in overloads.items()]


_LINK_LOCAL_MULTICAST = {
    4: ipaddress.ip_network("224.0.0.0/24"),
    6: ipaddress.ip_network("ff02::/16"),
}


def _is_global_unicast(value: Any) -> bool:
    # Go's net.IP.IsGlobalUnicast: not unspecified, loopback, link-local or multicast, nor broadcast.
    ip = _ipv(value)
    if ip.is_unspecified or ip.is_loopback or ip.is_link_local or ip.is_multicast:
        return False
    return not (ip.version == 4 and str(ip) == "255.255.255.255")


# The variables every admission expression may use, as in ValidatingAdmissionPolicy.
ADMISSION_VARIABLES = ("object", "oldObject", "request", "params", "namespaceObject", "variables")
# The identifiers rule variables are bound to with `cel.bind` (rules.variable_binder).
BOUND_PREFIX = "pg__var_"


@functools.lru_cache(maxsize=1)
def admission_env() -> Any:
    """The one CEL environment for admission expressions (built once: it is immutable)."""
    return cel.NewEnv(
        variables={name: T.DYN for name in ADMISSION_VARIABLES},
        extensions=[
            ext_strings.ExtStrings(),
            ext_optional.ExtOptional(),
            ext_bindings.ExtBindings(),
            # As an extension (not plain functions) so that overloads merge with the strings
            # extension's: `indexOf` is declared there for strings and here for lists.
            cel.CelExtension("kubernetes", kubernetes_functions()),
        ],
    )
