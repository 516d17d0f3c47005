"""Image reference parsing with and without the `name:tag` fast path of webhook/policy/images.py.

    .venv/bin/python bench/images.py [--pods 10000] [--runs 7]

`parse_image` caches whole references (4,096) and, on a miss, parses a `name:tag` reference's name with
the library (cached apart) and checks the tag with the library's own pattern. Without the fast path every
reference missing the cache goes through the library's full parse. Both start from cold caches each run,
and the runs alternate, in this process (the machine is shared and noisy: only the ratio means much).

Workloads, each references in the order a front-end meets them:
  audit     the images of bench/audit.py's 10,000 pods (two containers each): ~10,000 distinct
            `name:tag` references over ~1,000 names, more than the whole-reference cache holds
  builds    one name, every tag distinct (a CI registry: app:build-1, app:build-2, ...)
  webhook   20 images, repeated: whole-reference cache hits (what a webhook mostly sees)

Prints µs per reference (median of the runs) for each parser and the ratio without / with.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import sys
import time
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from webhook.policy import images  # noqa: E402
from webhook.policy.images import ImageRef, ImageReferenceError  # noqa: E402

CACHE = images._parse.cache_parameters()["maxsize"]


def audit_images(pods: int) -> list[str]:
    """The container images of bench/audit.py's realistic pods, in dump order."""
    spec = importlib.util.spec_from_file_location("bench_audit", ROOT / "bench" / "audit.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return [c["image"] for i in range(pods) for c in module.make_pod(i)["spec"]["containers"]]


def workloads(pods: int) -> dict[str, list[str]]:
    webhook = [f"registry.example.com/team-{i}/svc:1.{i}" for i in range(20)]
    return {
        "audit": audit_images(pods),
        "builds": [f"registry.example.com/ci/app:build-{n}" for n in range(pods)],
        "webhook": webhook * (pods // len(webhook)),
    }


ORIGINAL = images._parse


def with_fast_path() -> None:
    """podgate's parse_image, its caches emptied."""
    images._parse = ORIGINAL
    images._parse.cache_clear()
    images._parse_name.cache_clear()


def without_fast_path() -> None:
    """parse_image without the fast path: the same checks and whole-reference cache, then the library."""

    @lru_cache(maxsize=CACHE)
    def parse(text: str) -> ImageRef:
        if not text or text != text.strip():
            raise ImageReferenceError(f"invalid image reference {text!r}: empty or surrounded by white space")
        return images._parse_with_library(text)

    images._parse = parse  # type: ignore[assignment]


def timed(setup: Callable[[], None], references: list[str]) -> float:
    setup()
    parse = images.parse_image  # the same entry point either way: only `_parse` differs
    start = time.perf_counter()
    for text in references:
        parse(text)
    return time.perf_counter() - start


def parsed(setup: Callable[[], None], references: list[str]) -> list[ImageRef]:
    setup()
    return [images.parse_image(t) for t in references]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pods", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"python {sys.version.split()[0]}; load average {load} (at start); {args.runs} runs, alternating")
    for name, references in workloads(args.pods).items():
        # Same answers first: the comparison is between two readings of the same references.
        assert parsed(with_fast_path, references) == parsed(without_fast_path, references)
        fast, slow = [], []
        for _ in range(args.runs):
            fast.append(timed(with_fast_path, references))
            slow.append(timed(without_fast_path, references))
        per = 1e6 / len(references)
        with_us, without_us = statistics.median(fast) * per, statistics.median(slow) * per
        print(
            f"{name:8} {len(references):6} refs ({len(set(references)):5} distinct): "
            f"with fast path {with_us:6.2f} µs/ref, without {without_us:6.2f} µs/ref, "
            f"without / with = {without_us / with_us:.2f}x"
        )
    with_fast_path()
    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
