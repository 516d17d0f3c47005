"""Load policy files strictly and all-or-nothing.

Every problem in every file is collected and reported together, each naming the file, the document
index and the field path (`policies/x.yaml: document 0: spec.rules[1].params.registries[0]: ...`).
Either the whole set loads, or `PolicyLoadError` is raised and nothing is returned: a caller that holds
a good set keeps it.

Directories are read recursively in sorted order. Hidden entries (a mounted ConfigMap's `..data`
symlink and timestamped folders) and folders named `tests` (policy test suites and their fixtures) are
skipped; every other `*.yaml`/`*.yml` file must hold only `kind: Policy` documents.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError

from . import checks as _checks  # noqa: F401  (registers the built-in checks)
from . import mutations as _mutations  # noqa: F401  (registers the built-in mutators)
from .access import ACCESS_CHECKS
from .cel.rules import compile_rule
from .document import API_VERSION, ExpressionRule, MutationSpec, PolicyDocument, RuleSpec
from .match import Exempter, Matcher
from .model import AccessRule, Mutation, Policy, PolicySet, Rule
from .registry import CHECKS, MUTATORS
from .vap.importer import SourceDocument, import_documents
from .yamlio import YamlError, load_documents, load_documents_text, read_text

POLICY_SUFFIXES = (".yaml", ".yml")
SKIPPED_DIRS = frozenset({"tests"})
# The validation-context key under which check parameters find the folder of their policy file.
POLICY_DIR_CONTEXT = "policy_dir"
ParamsContext = dict[str, str] | None  # the validation context of check and mutator parameters


@dataclass(frozen=True, slots=True)
class Problem:
    file: str
    document: int | None  # index of the YAML document in the file; None for file-level problems
    path: str  # field path inside the document; "" for the document itself
    message: str

    def __str__(self) -> str:
        where = [self.file]
        if self.document is not None:
            where.append(f"document {self.document}")
        if self.path:
            where.append(self.path)
        return f"{': '.join(where)}: {self.message}"


class PolicyLoadError(Exception):
    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        count = len(self.problems)
        super().__init__(
            f"{count} problem{'s' if count != 1 else ''} in the policy set:\n"
            + "\n".join(f"  {p}" for p in self.problems)
        )


def policy_files(paths: Iterable[str | os.PathLike[str]]) -> Iterator[Path]:
    """The policy files named by `paths` (files as given, directories walked), in a stable order."""
    for given in paths:
        path = Path(given)
        if path.is_dir():
            for root, dirs, files in os.walk(path, followlinks=True):
                dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in SKIPPED_DIRS)
                for name in sorted(files):
                    if not name.startswith(".") and name.endswith(POLICY_SUFFIXES):
                        yield Path(root) / name
        else:
            yield path


def policy_documents(paths: Iterable[str | os.PathLike[str]]) -> tuple[list[PolicyDocument], int]:
    """The podgate policy documents of the files under `paths`, as written (for the exporter: call
    `load_policies` first, which checks them strictly), and how many other documents the files hold."""
    documents: list[PolicyDocument] = []
    others = 0
    for file in policy_files(paths):
        for document in load_documents(file):
            if isinstance(document, dict) and document.get("apiVersion") == API_VERSION:
                documents.append(PolicyDocument.model_validate(document))
            elif document is not None:
                others += 1
    return documents, others


def load_policies(*paths: str | os.PathLike[str], texts: dict[Path, str] | None = None) -> PolicySet:
    """Load and compile every policy under `paths`; raise PolicyLoadError listing every problem.

    `texts`, when given, gets every policy file read, with its text: a caller that needs the files too
    (the ConfigMaps of `podgate webhook-config`) reads nothing again.
    """
    problems = [Problem(str(p), None, "", "no such file or directory") for p in paths if not Path(p).exists()]
    files = list(policy_files(p for p in paths if Path(p).exists()))
    if not files and not problems:
        problems.append(Problem(", ".join(map(str, paths)) or "(none)", None, "", "no policy files found"))
    policies: list[Policy] = []
    foreign: list[SourceDocument] = []  # Kubernetes documents: ValidatingAdmissionPolicies and their kin
    context_of = _contexts()
    for file in files:
        try:
            text = read_text(file)
        except YamlError as exc:
            problems.append(Problem(str(file), exc.document, "", exc.reason))
            continue
        if texts is not None:
            texts[file] = text
        policies += _compile_text(text, str(file), problems, foreign, context_of)
    policies += _compile_imported(foreign, problems, context_of)
    return _finish(policies, problems, tuple(str(f) for f in files))


def load_policy_text(text: str, source: str = "<inline>") -> PolicySet:
    """Load policies from YAML text (tests, and suites that embed a policy)."""
    problems: list[Problem] = []
    foreign: list[SourceDocument] = []
    context_of = _contexts()
    policies = _compile_text(text, source, problems, foreign, context_of)
    return _finish(policies + _compile_imported(foreign, problems, context_of), problems, (source,))


def _compile_text(
    text: str,
    source: str,
    problems: list[Problem],
    foreign: list[SourceDocument],
    context_of: Callable[[str], ParamsContext],
) -> list[Policy]:
    try:
        documents = load_documents_text(text, source)
    except YamlError as exc:
        problems.append(Problem(source, exc.document, "", exc.reason))
        return []
    return _compile_documents(documents, source, problems, foreign, context_of(source))


def _compile_documents(
    documents: list[Any],
    source: str,
    problems: list[Problem],
    foreign: list[SourceDocument],
    context: ParamsContext,
) -> list[Policy]:
    compiled = []
    for i, doc in enumerate(documents):
        if isinstance(doc, dict) and doc.get("apiVersion") != API_VERSION and "kind" in doc:
            foreign.append(SourceDocument(doc, source, i))  # judged together once every file is read
        elif doc is not None:
            compiled.append(_compile(doc, source, i, problems, context))
    return [policy for policy in compiled if policy is not None]


def _compile_imported(
    foreign: list[SourceDocument], problems: list[Problem], context_of: Callable[[str], ParamsContext]
) -> list[Policy]:
    """ValidatingAdmissionPolicies (+ bindings, params) as podgate policies; errors point at their files."""

    def problem(source: SourceDocument, path: str, message: str) -> None:
        problems.append(Problem(source.file, source.index, path, message))

    result = import_documents(foreign, problem)
    for other in result.unused:
        found = f"{other.document.get('apiVersion')}/{other.document.get('kind')}"
        problem(
            other,
            "",
            "expected apiVersion podgate.io/v1alpha1, kind Policy (or a ValidatingAdmissionPolicy, "
            f"its binding, or a params object one of them uses); found {found}",
        )
    policies = []
    for imported in result.policies:
        own: list[Problem] = []
        file = imported.source.file
        policy = _compile(imported.policy, file, imported.source.index, own, context_of(file))
        # The rule's fields are the policy's own (spec.validations[0]...), so point there.
        problems.extend(
            Problem(p.file, p.document, re.sub(r"^spec\.rules\[\d+\]\.", "spec.", p.path), p.message)
            for p in own
        )
        if policy is not None:
            policies.append(replace(policy, source=f"{imported.binding.file}#{imported.binding.index}"))
    return policies


def _finish(policies: list[Policy], problems: list[Problem], sources: tuple[str, ...]) -> PolicySet:
    problems.extend(_duplicate_names(policies))
    policies.sort(key=lambda p: p.name)
    problems.extend(_mutation_conflicts(policies))
    if problems:
        raise PolicyLoadError(problems)
    return PolicySet(tuple(policies), sources)


def _compile(
    document: Any, file: str, index: int, problems: list[Problem], context: ParamsContext
) -> Policy | None:
    def problem(path: str, message: str) -> None:
        problems.append(Problem(file, index, path, message))

    if not isinstance(document, dict):
        problem("", f"a policy document must be a mapping, not {type_name(document)}")
        return None
    if document.get("kind") != "Policy" or document.get("apiVersion") != "podgate.io/v1alpha1":
        found = f"{document.get('apiVersion')}/{document.get('kind')}"
        problem("", f"expected apiVersion podgate.io/v1alpha1, kind Policy; found {found}")
        return None
    try:
        doc = PolicyDocument.model_validate(document)
    except ValidationError as exc:
        reported = validation_problems(exc)
        for path, message in reported:
            problem(path, message)
        _compile_sound_parts(document, {path for path, _ in reported}, context, problem)
        return None

    spec = doc.spec
    rules: list[Rule] = []
    access_rules: list[AccessRule] = []
    for i, rule in enumerate(spec.rules):
        compiled = _compile_rule(rule, i, context, problem)
        if isinstance(compiled, Rule):
            rules.append(compiled)
        elif isinstance(compiled, AccessRule):
            access_rules.append(compiled)
    if rules and access_rules:
        problem("spec.rules", "access checks (who may act on an object) and pod checks cannot share a policy")
    mutations = [
        m for i, spec_m in enumerate(spec.mutations) if (m := _compile_mutation(spec_m, i, context, problem))
    ]
    _unique([*(r.name for r in rules), *(r.name for r in access_rules)], "spec.rules", "rule", problem)
    _unique([m.name for m in mutations], "spec.mutations", "mutation", problem)
    pod_only = sorted(set(spec.match.operations) - {"CREATE", "UPDATE"})
    if rules and pod_only:
        problem(
            "spec.match.operations", f"pod checks judge CREATE and UPDATE only, not {', '.join(pod_only)}"
        )
    if (rules and (access_rules or pod_only)) or len(rules) + len(access_rules) != len(spec.rules):
        return None
    if len(mutations) != len(spec.mutations):
        return None
    return Policy(
        name=doc.metadata.name,
        description=spec.description,
        remediation=spec.remediation,
        actions=tuple(spec.actions),
        failure_policy=spec.failure_policy,
        strict_updates=spec.strict_updates,
        match=Matcher.compile(spec.match),
        exemptions=Exempter.compile(spec.exemptions),
        rules=tuple(rules),
        mutations=tuple(mutations),
        source=f"{file}#{index}",
        pod_security_updates=spec.pod_security_updates,
        access_rules=tuple(access_rules),
    )


def _compile_rule(rule: Any, i: int, context: ParamsContext, problem: Any) -> Rule | AccessRule | None:
    """One rule of `spec.rules`: a CEL expression, a pod check or an access check, with its parameters."""
    if isinstance(rule, ExpressionRule):
        return compile_rule(rule, f"spec.rules[{i}]", problem)
    check, access = CHECKS.get(rule.check), ACCESS_CHECKS.get(rule.check)
    where = f"spec.rules[{i}].params"
    name = rule.name or rule.check
    if check is not None:
        if (params := _params(check.params, rule.params, where, problem, context)) is not None:
            return Rule(name=name, check=rule.check, run=check.build(params))
    elif access is not None:
        if (params := _params(access.params, rule.params, where, problem, context)) is not None:
            return AccessRule(name=name, check=rule.check, run=access.build(params))
    else:
        known = ", ".join(sorted([*CHECKS, *ACCESS_CHECKS]))
        problem(f"spec.rules[{i}].check", f"unknown check {rule.check!r}; known: {known}")
    return None


def _compile_mutation(
    mutation: MutationSpec, i: int, context: ParamsContext, problem: Any
) -> Mutation | None:
    mutator = MUTATORS.get(mutation.mutator)
    if mutator is None:
        known = ", ".join(sorted(MUTATORS))
        problem(f"spec.mutations[{i}].mutator", f"unknown mutator {mutation.mutator!r}; known: {known}")
        return None
    params = _params(mutator.params, mutation.params, f"spec.mutations[{i}].params", problem, context)
    if params is None:
        return None
    name = mutation.name or mutation.mutator
    return Mutation(name=name, mutator=mutation.mutator, compiled=mutator.build(params))


_RULE_SPEC: TypeAdapter[Any] = TypeAdapter(RuleSpec)


def _compile_sound_parts(
    document: dict[str, Any], reported: set[str], context: ParamsContext, problem: Any
) -> None:
    """When a document is invalid, still check every rule and mutation the error does not touch.

    One mistake (say, `actions: [Deny, Warn]`) must not hide an unknown check id or a bad parameter
    further down: the author gets every problem of the file in one run.
    """
    spec = document.get("spec")
    if not isinstance(spec, dict):
        return
    parts: tuple[tuple[str, Any, Any], ...] = (
        ("rules", _RULE_SPEC.validate_python, _compile_rule),
        ("mutations", MutationSpec.model_validate, _compile_mutation),
    )
    for key, validate, compile_part in parts:
        items = spec.get(key)
        if not isinstance(items, list):
            continue
        for i, raw in enumerate(items):
            where = f"spec.{key}[{i}]"
            if any(path == where or path.startswith((f"{where}.", f"{where}[")) for path in reported):
                continue  # this part's own problems are already reported
            try:
                part = validate(raw)
            except ValidationError:
                continue
            compile_part(part, i, context, problem)


def _contexts() -> Callable[[str], ParamsContext]:
    """`_params_context` for one load: once per file, shared by its own policies and the ones imported
    from it (a new cache per load: files move)."""
    return functools.cache(_params_context)


def _params_context(file: str) -> ParamsContext:
    """Parameters naming files (scan reports) resolve relative paths against the policy file's folder."""
    return {POLICY_DIR_CONTEXT: str(Path(file).resolve().parent)} if Path(file).is_file() else None


def _params(
    model: type[BaseModel], raw: dict[str, Any], path: str, problem: Any, context: ParamsContext
) -> BaseModel | None:
    try:
        return model.model_validate(raw, context=context)
    except ValidationError as exc:
        for sub, message in validation_problems(exc):
            problem(f"{path}.{sub}" if sub else path, message)
        return None


def _unique(names: list[str], path: str, noun: str, problem: Any) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            problem(path, f"{noun} name {name!r} is used twice in this policy; give each a distinct `name`")
        seen.add(name)


def _duplicate_names(policies: list[Policy]) -> list[Problem]:
    first: dict[str, Policy] = {}
    found = []
    for policy in policies:
        if policy.name in first:
            file, _, index = policy.source.rpartition("#")
            found.append(
                Problem(
                    file,
                    int(index),
                    "metadata.name",
                    f"policy name {policy.name!r} is already used by {first[policy.name].source}",
                )
            )
        else:
            first[policy.name] = policy
    return found


def _mutation_conflicts(policies: list[Policy]) -> list[Problem]:
    """Two mutations that set the same field would make the result depend on order: refuse them.

    "The same field" includes a field and a part of it: a mutation that sets `metadata.labels` and one
    that sets `metadata.labels.app` overlap, and `containers[*]` overlaps `containers[0]`.
    """
    claimed: list[tuple[tuple[str, ...], str, str]] = []  # (target segments, target, owner)
    found = []
    for policy in policies:
        for i, mutation in enumerate(policy.mutations):
            here = f"policy {policy.name!r} mutation {mutation.name!r}"
            for target in sorted(mutation.compiled.targets):
                segments = target_segments(target)
                clash = next(
                    (
                        (other, owner)
                        for seg, other, owner in claimed
                        if owner != here and _overlap(seg, segments)
                    ),
                    None,
                )
                if clash is None:
                    claimed.append((segments, target, here))
                    continue
                other, owner = clash
                file, _, index = policy.source.rpartition("#")
                what = (
                    f"sets {target}, which {owner} also sets"
                    if other == target
                    else (f"sets {target}, which overlaps {other} set by {owner}")
                )
                found.append(
                    Problem(
                        file,
                        int(index),
                        f"spec.mutations[{i}]",
                        f"{here} {what}; only one mutation may set a field",
                    )
                )
    return found


def target_segments(target: str) -> tuple[str, ...]:
    """`metadata.labels['app.kubernetes.io/name']` -> ("metadata", "labels", "app.kubernetes.io/name").

    A key with dots or slashes is written in brackets (quoted or not); `[*]` and `[0]` are list items.
    """
    segments: list[str] = []
    for dotted, bracketed in _TARGET_SEGMENT.findall(target):
        segments.append(dotted or bracketed.strip("'\""))
    return tuple(segments)


_TARGET_SEGMENT = re.compile(r"([^.\[\]]+)|\[([^\]]*)\]")


def _overlap(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    """One target is the other or a part of it; `*` stands for any list index."""
    return all(
        x == y or (x == "*" and y.isdigit()) or (y == "*" and x.isdigit())
        for x, y in zip(a, b, strict=False)  # the shorter one is a prefix of the longer
    )


def validation_problems(exc: ValidationError) -> list[tuple[str, str]]:
    """pydantic errors as (field path, message) pairs, with paths written the way users write them."""
    out = []
    for error in exc.errors(include_url=False):
        loc = [part for part in error["loc"] if not (isinstance(part, str) and "[" in part)]
        out.append((field_path(loc), _message(error)))
    return out


def field_path(parts: Iterable[str | int]) -> str:
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def _message(error: Any) -> str:
    kind = error["type"]
    if kind == "missing":
        return "required field is missing"
    if kind == "extra_forbidden":
        return "unknown field"
    if kind == "string_pattern_mismatch":
        return f"{error['input']!r} is not a valid name: use lowercase letters, digits, '-' and '.'"
    message = str(error["msg"])
    if message.startswith("Value error, "):
        message = message[len("Value error, ") :]
    if "input" in error and kind not in ("literal_error",) and not isinstance(error["input"], dict | list):
        return f"{message} (got {error['input']!r})"
    return message


def type_name(value: Any) -> str:
    return {
        dict: "a mapping",
        list: "a list",
        str: "a string",
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        type(None): "null",
    }.get(type(value), type(value).__name__)
