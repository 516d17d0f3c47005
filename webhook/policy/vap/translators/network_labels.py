"""network-labels in CEL: the required labels, with their allowed values or pattern
(checks/network_labels.py).

A pattern is matched by Python's `re` in podgate and by RE2 in CEL. Only patterns in a subset whose
syntax and meaning are the same in both dialects are translated (see `re2_fullmatch`); any other
pattern leaves the rule to the webhook.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from ...checks.network_labels import Params
from . import Translation, Untranslatable, translator
from ._cel import present

LABELS = "variables.podMetadata.labels"
WORD = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")
CLASS_CHARS = WORD | {".", "-"}
ESCAPABLE = frozenset(".-_*+?()[]{}|^$\\/")


@translator("network-labels")
def translate(params: Params) -> Translation:
    validations = []
    for label in params.labels:
        key = json.dumps(label.key)
        value = f"{LABELS}[{key}]"
        test = f"{present(LABELS)} && {key} in {LABELS} && {value} != null"
        if label.values:
            test += f" && {value} in {json.dumps(label.values)}"
            allowed = f"one of: {', '.join(label.values)}"
        elif label.pattern is not None:
            test += f" && {value}.matches({json.dumps(re2_fullmatch(label.pattern))})"
            allowed = f"a value matching /{label.pattern}/"
        else:
            allowed = "any value"
        validations.append(
            {
                "expression": test,
                "message": f"the pod (template) must carry the label {label.key} with {allowed}",
            }
        )
    return Translation(validations=validations)


def re2_fullmatch(pattern: str) -> str:
    """`pattern` as an anchored RE2 pattern matching exactly what Python's `re.fullmatch` matches.

    Accepted: literal letters, digits and `_`; `-`, `/` and escaped punctuation (`\\.`); `.`;
    bracket sets of letters, digits, `_`, `.`, `-` and ascending ranges, optionally negated; groups
    `(...)` and `(?:...)`; `|`; the quantifiers `*`, `+`, `?`, `{n}`, `{n,}`, `{n,m}` (up to 1000, RE2's
    limit), each optionally lazy; a leading `^` and a trailing `$` (redundant under fullmatch). These
    read the same in both dialects; anything else (classes like `\\d`, which are Unicode-aware in Python
    and ASCII in RE2; flags; lookarounds; backreferences; `{,m}`) raises Untranslatable.
    """
    body = pattern
    if body.startswith("^"):
        body = body[1:]
    if body.endswith("$") and not _escaped_at(body, len(body) - 1):
        body = body[:-1]
    out: list[str] = []
    i, n, depth = 0, len(body), 0
    atom = False  # the previous token can take a quantifier
    quantified = False  # the previous token is a quantifier (only a lazy `?` may follow)

    def refuse(why: str) -> Untranslatable:
        return Untranslatable(f"pattern {pattern!r} {why}: RE2 (CEL) and Python re may read it differently")

    while i < n:
        c = body[i]
        if c in "*+?" or c == "{":
            if c == "?" and quantified and out and out[-1] != "?":
                out.append("?")  # lazy: the same yes/no answer
                i += 1
                quantified, atom = False, False
                continue
            if not atom:
                raise refuse(f"has a quantifier {c!r} at {i} with nothing to repeat")
            if c == "{":
                end = body.find("}", i)
                inner = body[i + 1 : end] if end > 0 else ""
                low, _, high = inner.partition(",")
                if not (
                    low.isdigit() and low.isascii() and (not high or (high.isdigit() and high.isascii()))
                ):
                    raise refuse(
                        f"has a repetition {body[i : end + 1] or '{'!r} outside {{n}}, {{n,}}, {{n,m}}"
                    )
                if int(low) > 1000 or (high and (int(high) > 1000 or int(high) < int(low))):
                    raise refuse("has a repetition count above 1000 or reversed")
                out.append(body[i : end + 1])
                i = end + 1
            else:
                out.append(c)
                i += 1
            quantified, atom = True, False
            continue
        quantified = False
        if c in WORD or c in "-/":
            out.append(c)
            atom = True
        elif c == ".":
            out.append(".")
            atom = True
        elif c == "\\":
            if i + 1 >= n or body[i + 1] not in ESCAPABLE:
                raise refuse(f"has an escape {body[i : i + 2]!r} other than escaped punctuation")
            out.append(body[i : i + 2])
            i += 1
            atom = True
        elif c == "[":
            end, text = _bracket(body, i + 1, refuse)
            out.append(text)
            i, atom, quantified = end, True, False
            continue
        elif c == "(":
            if body.startswith("(?:", i):
                out.append("(?:")
                i += 2
            elif i + 1 < n and body[i + 1] == "?":
                raise refuse("has a group extension (?...) other than (?:...)")
            else:
                out.append("(")
            depth += 1
            atom = False
        elif c == ")":
            if depth == 0:
                raise refuse("has an unbalanced )")
            depth -= 1
            out.append(")")
            atom = True
        elif c == "|":
            out.append("|")
            atom = False
        else:
            raise refuse(f"has {c!r} at {i}")
        i += 1
    if depth:
        raise refuse("has an unbalanced (")
    return f"^(?:{''.join(out)})$"


def _escaped_at(text: str, index: int) -> bool:
    backslashes = len(text[:index]) - len(text[:index].rstrip("\\"))
    return backslashes % 2 == 1


def _bracket(body: str, start: int, refuse: Callable[[str], Untranslatable]) -> tuple[int, str]:
    """The set starting after `[` at `start`: (index after `]`, its RE2 text)."""
    i = start
    negate = i < len(body) and body[i] == "^"
    if negate:
        i += 1
    items: list[str] = []
    while i < len(body) and body[i] != "]":
        c = body[i]
        if c not in CLASS_CHARS:
            raise refuse(f"has {c!r} in a bracket set")
        if c == "-":
            if items and i + 1 < len(body) and body[i + 1] != "]":
                low, high = items[-1], body[i + 1]
                if len(low) != 1 or low not in WORD or high not in WORD or low > high:
                    raise refuse("has a bracket range other than an ascending range of letters or digits")
                items[-1] = f"{low}-{high}"
                i += 2
                continue
            items.append("\\-")  # a literal hyphen, first or last
        else:
            items.append(c if c != "." else "\\.")
        i += 1
    if i >= len(body) or not items:
        raise refuse("has an unclosed or empty bracket set")
    return i + 1, f"[{'^' if negate else ''}{''.join(items)}]"
