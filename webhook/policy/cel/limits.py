"""Bounds on what one CEL expression may cost, so a runaway expression cannot stall the webhook.

CEL always terminates, and outside comprehensions (`all`, `exists`, `exists_one`, `map`, `filter`) an
expression's work is linear in its size and its input. Nested comprehensions are what grow: their work
is the product of the lists they walk. The CEL runtime's Python binding offers no iteration budget to
set; it has a fixed one (RUNTIME_ITERATIONS: an evaluation fails at its 10,000th comprehension
iteration, all comprehensions of the program counted), and podgate bounds the product before it runs:

- at load: an expression longer than MAX_EXPRESSION_LENGTH or nesting comprehensions deeper than
  MAX_COMPREHENSION_DEPTH is a load error;
- per request: an expression nesting d >= 2 comprehensions is refused (an evaluation error, which the
  policy's failurePolicy turns into a denial or a note) when L**d exceeds MAX_ITERATIONS, L being the
  longest list (or map) in its input. That is an upper bound of its iterations, like the API server's
  static cost estimate but with the real sizes;
- after each evaluation the elapsed time is checked against MAX_RULE_SECONDS: an over-long rule is an
  evaluation error too, so it is noticed even if the estimate let it through.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

MAX_EXPRESSION_LENGTH = 10_000
MAX_COMPREHENSION_DEPTH = 4
MAX_ITERATIONS = 1_000_000  # the API server's per-expression cost limit is of the same order
MAX_RULE_SECONDS = 1.0  # generous: a loaded machine must not turn a slow rule into a denial
# cel-expr-python fails an evaluation ("Iteration budget exceeded") that reaches this many comprehension
# iterations, summed over the program (measured: 9,999 pass; `cel.bind` counts none). Not settable.
RUNTIME_ITERATIONS = 10_000

COMPREHENSIONS = frozenset({"all", "exists", "exists_one", "map", "filter", "transformList", "transformMap"})


def comprehension_depth(source: str) -> int:
    """The deepest nesting of comprehension macros in `source` (string literals skipped)."""
    depth = deepest = 0
    stack: list[bool] = []  # per open parenthesis: does it open a comprehension?
    tokens = [token for _, token in code_tokens(source)]
    for t, token in enumerate(tokens):
        if token == "(":
            opens = t >= 2 and tokens[t - 1] in COMPREHENSIONS and tokens[t - 2] == "."
            stack.append(opens)
            depth += opens
            deepest = max(deepest, depth)
        elif token == ")" and stack and stack.pop():
            depth -= 1
    return deepest


def code_tokens(source: str) -> list[tuple[int, str]]:
    """`source` as CEL's lexer sees it, roughly, as (offset, token): identifiers, string literals
    (quotes, prefix and all) and single characters, spaces dropped. Enough to find macros and
    `variables.<name>` references without mistaking text inside a string for code."""
    tokens: list[tuple[int, str]] = []
    i, n = 0, len(source)
    while i < n:
        c = source[i]
        if c.isspace():
            i += 1
            continue
        j = i + 1
        if c in "'\"":
            j = _past_string(source, i)
        elif c in "rRbB" and j < n and source[j] in "'\"":
            j = _past_string(source, j, raw=c in "rR")
        elif c.isalpha() or c == "_":
            while j < n and (source[j].isalnum() or source[j] == "_"):
                j += 1
        tokens.append((i, source[i:j]))
        i = j
    return tokens


def _past_string(source: str, i: int, raw: bool = False) -> int:
    """The index just past the string literal opening at `i` (an unterminated one ends the text)."""
    quote = source[i]
    delimiter = quote * 3 if source.startswith(quote * 3, i) else quote
    i += len(delimiter)
    while i < len(source):
        if not raw and source[i] == "\\":
            i += 2
            continue
        if source.startswith(delimiter, i):
            return i + len(delimiter)
        i += 1
    return i


def longest_collection(value: Any, limit: int = 1_000_000) -> int:
    """The length of the longest list or map anywhere in `value` (walks at most `limit` nodes)."""
    longest = 0
    pending = [value]
    seen = 0
    while pending and seen < limit:
        node = pending.pop()
        seen += 1
        kind = type(node)  # exact types first: an ABC isinstance on every node is slow
        if kind in _SCALARS:
            continue
        if kind is dict or (kind is not list and isinstance(node, Mapping)):
            longest = max(longest, len(node))
            pending.extend(node.values())
        elif kind is list or isinstance(node, list):
            longest = max(longest, len(node))
            pending.extend(node)
    return longest


_SCALARS = frozenset({str, int, float, bool, type(None)})
