"""Find and load PolicyTest suites, resolving fixtures and policies; every problem names where it is."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ..inputs import InputError, manifest_files, objects_in_document
from ..policy import PolicyLoadError, PolicySet, Request, UserInfo, load_policies
from ..policy.loader import validation_problems
from ..policy.sessions import NAMED_ONLY_REQUESTS
from ..policy.yamlio import YamlError, load_documents
from .document import CaseDocument, SuiteDocument

SUITE_KIND = "PolicyTest"
SUITE_SUFFIXES = (".yaml", ".yml")


class SuiteError(Exception):
    """A suite that cannot be run: each problem names the suite file, the case and the field."""

    def __init__(self, problems: Iterable[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(self.problems))


@dataclass(frozen=True)
class SuiteCase:
    name: str
    index: int
    request: Request
    document: CaseDocument  # the expectations, as written
    golden: Path | None  # the `patched` file, resolved


@dataclass(frozen=True)
class Suite:
    name: str
    path: Path
    policies: PolicySet
    cases: tuple[SuiteCase, ...]


def discover(paths: Iterable[str]) -> Iterator[Path]:
    """Suite files: given files as they are; directories walked for YAML files whose kind is PolicyTest."""
    for given in paths:
        path = Path(given)
        if path.is_dir():
            found = (Path(file) for file in manifest_files([given]))  # sorted, hidden parts skipped
            yield from (file for file in found if file.suffix in SUITE_SUFFIXES and _is_suite(file))
        else:
            yield path


def _is_suite(file: Path) -> bool:
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    if SUITE_KIND not in text:  # cheap: most files under policies/ are policies and fixtures
        return False
    try:
        documents = load_documents(file)
    except YamlError:
        return True  # let load_suite report the broken suite rather than silently skip it
    return any(isinstance(d, Mapping) and d.get("kind") == SUITE_KIND for d in documents)


_POLICY_CACHE: dict[tuple[str, ...], PolicySet] = {}


def load_suite(path: Path) -> Suite:
    where = str(path)
    try:
        documents = [d for d in load_documents(path) if d is not None]
    except YamlError as exc:
        raise SuiteError([str(exc)]) from None
    if len(documents) != 1 or not isinstance(documents[0], Mapping):
        raise SuiteError([f"{where}: a suite file holds exactly one PolicyTest document"])
    try:
        doc = SuiteDocument.model_validate(documents[0])
    except ValidationError as exc:
        raise SuiteError(
            f"{where}: {_case_name(documents[0], field)}{field}: {message}"
            for field, message in validation_problems(exc)
        ) from None

    base = path.parent
    problems: list[str] = []
    policy_paths = []
    for i, given in enumerate(doc.spec.policies):
        resolved = base / given
        if not resolved.exists():
            problems.append(f"{where}: spec.policies[{i}]: {given} does not exist")
        policy_paths.append(str(resolved.resolve()))
    cases = []
    for i, case in enumerate(doc.spec.cases):
        try:
            cases.append(_resolve_case(case, i, base, where))
        except SuiteError as exc:
            problems.extend(exc.problems)
    names = [c.name for c in doc.spec.cases]
    problems += [
        f"{where}: spec.cases[{i}] ({name}): name: used by an earlier case; case names are unique"
        for i, name in enumerate(names)
        if name in names[:i]
    ]
    if problems:
        raise SuiteError(problems)
    key = (*policy_paths, *_stamps(policy_paths))  # suites sharing policies load them once
    if key not in _POLICY_CACHE:
        try:
            _POLICY_CACHE[key] = load_policies(*policy_paths)
        except PolicyLoadError as exc:
            raise SuiteError(f"{where}: spec.policies: {p}" for p in exc.problems) from None
    return Suite(doc.metadata.name, path, _POLICY_CACHE[key], tuple(cases))


def _stamps(paths: list[str]) -> list[str]:
    """Modification stamps of the policy files, so an edited policy is never served from the cache."""
    files: list[Path] = []
    for given in paths:
        path = Path(given)
        files += sorted(path.rglob("*.y*ml")) if path.is_dir() else [path]
    return [f"{f}@{f.stat().st_mtime_ns}:{f.stat().st_size}" for f in files if f.is_file()]


def _case_name(document: Mapping[str, Any], field: str) -> str:
    """`spec.cases[2] (name): ` prefix is already in the path; add the case name when it has one."""
    if not field.startswith("spec.cases["):
        return ""
    index = field[len("spec.cases[") :].split("]", 1)[0]
    try:
        case = document["spec"]["cases"][int(index)]
        return f"case {case['name']!r}: " if isinstance(case, Mapping) and "name" in case else ""
    except (KeyError, IndexError, TypeError, ValueError):
        return ""


def _resolve_case(case: CaseDocument, index: int, base: Path, where: str) -> SuiteCase:
    at = f"{where}: spec.cases[{index}] ({case.name})"
    request = _object_request(case.object, base, f"{at}: object")
    old = None
    if case.old_object is not None:
        old = _object_request(case.old_object, base, f"{at}: oldObject").object
    given = case.model_fields_set
    # Context given in the case overrides what an AdmissionReview fixture says.
    changes: dict[str, Any] = {}
    if "operation" in given or request.operation == "":
        changes["operation"] = case.operation
    if old is not None:
        changes["old_object"] = old
    if "sub_resource" in given:
        changes["subresource"] = case.sub_resource
    if case.namespace is not None:
        changes["namespace"] = case.namespace
    if case.namespace_labels is not None:
        changes["namespace_labels"] = case.namespace_labels
    if case.user_info is not None:
        changes["user"] = UserInfo(case.user_info.username, tuple(case.user_info.groups))
    if "dry_run" in given:
        changes["dry_run"] = case.dry_run
    resolved = dataclasses.replace(request, **changes)
    if case.target_metadata is not None:
        if (resolved.operation, resolved.subresource) not in NAMED_ONLY_REQUESTS:
            raise SuiteError(
                [
                    f"{at}: targetMetadata: only CONNECT exec/attach/portforward and CREATE eviction "
                    f"requests name a pod without carrying it; this case is {resolved.operation} "
                    f"{resolved.subresource or '(no subresource)'}: put the pod in object/oldObject instead"
                ]
            )
        target = case.target_metadata
        metadata: dict[str, Any] = {
            "name": target.name if target.name is not None else resolved.name,
            "namespace": target.namespace if target.namespace is not None else resolved.namespace,
            "labels": dict(target.labels),
            "annotations": dict(target.annotations),
        }
        resolved = dataclasses.replace(resolved, target_metadata=metadata)
    golden = base / case.expect.patched if case.expect.patched else None
    return SuiteCase(case.name, index, resolved, case, golden)


def _object_request(given: str | dict[str, Any], base: Path, at: str) -> Request:
    """A fixture file (or inline mapping) as a request: an AdmissionReview gives its own context."""
    if isinstance(given, dict):
        documents: list[Any] = [given]
        source = "(inline)"
    else:
        file = base / given
        if not file.is_file():
            raise SuiteError([f"{at}: fixture {given} does not exist"])
        try:
            documents = [d for d in load_documents(file) if d is not None]
        except YamlError as exc:
            raise SuiteError([f"{at}: {exc}"]) from None
        source = str(file)
    if len(documents) != 1:
        raise SuiteError([f"{at}: {source} must hold exactly one object (found {len(documents)} documents)"])
    try:
        objects = list(objects_in_document(documents[0], source, 0))
    except InputError as exc:
        raise SuiteError([f"{at}: {exc}"]) from None
    if len(objects) != 1 or objects[0].item is not None:
        raise SuiteError([f"{at}: {source} must hold exactly one object, not a List"])
    return objects[0].request
