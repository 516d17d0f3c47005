"""The suite runner catches every kind of failure, and reports suite errors with file, case and field."""

from __future__ import annotations

import json
import shutil
import textwrap
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import pytest
import yaml
from conftest import POLICIES, SHARED_FIXTURES, pod
from testing_mutators import MUTATING_POLICY

from webhook.cli import main

ROOT_POD = pod()
NON_ROOT_POD = pod(securityContext={"runAsNonRoot": True})
ROOT_MESSAGE = r'container "app" \(spec.containers\[0\]\) must run as a non-root user'


def make_suite(tmp_path: Path, cases: list[dict[str, Any]], policy: str | None = None) -> Path:
    (tmp_path / "policy.yaml").write_text(policy or (POLICIES / "no-root.yaml").read_text())
    (tmp_path / "root.yaml").write_text(yaml.safe_dump(ROOT_POD))
    (tmp_path / "non-root.yaml").write_text(yaml.safe_dump(NON_ROOT_POD))
    suite = {
        "apiVersion": "podgate.io/v1alpha1",
        "kind": "PolicyTest",
        "metadata": {"name": "t"},
        "spec": {"policies": ["policy.yaml"], "cases": cases},
    }
    path = tmp_path / "suite.yaml"
    path.write_text(yaml.safe_dump(suite, sort_keys=False))
    return path


def run_test(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["test", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def case(expect: dict[str, Any], obj: Any = "root.yaml", **context: Any) -> dict[str, Any]:
    return {"name": "c", "object": obj, **context, "expect": expect}


DENIED_AS_EXPECTED = {"allowed": False, "violations": [{"policy": "no-root", "message": ROOT_MESSAGE}]}


@pytest.mark.parametrize(
    ("the_case", "failure"),
    [
        (case({"allowed": True}), "expected allowed, got denied"),
        (case({"allowed": False}, "non-root.yaml"), "expected denied, got allowed"),
        (
            case({"allowed": False, "violations": []}),
            "unexpected violation: no-root/no-root at spec.securityContext",
        ),
        (
            case({"allowed": False, "violations": [DENIED_AS_EXPECTED["violations"][0]] * 2}),
            "expected violation not found: policy no-root, message",
        ),
        (
            case({"allowed": False, "violations": [{"policy": "no-root", "path": "spec.containers[0]"}]}),
            "expected violation not found: policy no-root, path spec.containers[0]",
        ),
        (
            case({"allowed": False, "violations": [{"policy": "no-root", "rule": "other"}]}),
            "expected violation not found: policy no-root, rule other",
        ),
        (
            case({"allowed": False, "violations": [{"policy": "no-root", "message": "privileged"}]}),
            "expected violation not found: policy no-root, message /privileged/",
        ),
        (case({"allowed": False, "warnings": ["x"]}), "expected 1 warning(s), got 0"),
        (
            case({"allowed": False, "auditAnnotations": {"no-root": "."}}),
            "expected audit annotations ['no-root'], got []",
        ),
        (case({"allowed": False, "patch": [{"op": "add", "path": "/x", "value": 1}]}), "patch differs"),
        (
            case(
                {"allowed": True, "patchedAllowed": True},
                "non-root.yaml",
                operation="UPDATE",
                oldObject="non-root.yaml",
            ),
            None,
        ),
        (
            case({"allowed": False, "patchedAllowed": True}),
            "expected the patched object to be allowed, got denied",
        ),
        (case({"allowed": False, "patched": "golden.yaml"}), "golden file"),
    ],
)
def test_a_failing_case_is_caught(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], the_case: dict[str, Any], failure: str | None
) -> None:
    path = make_suite(tmp_path, [the_case])
    code, out, _ = run_test(capsys, str(path))
    if failure is None:
        assert code == 0, out
        return
    assert code == 1, out
    assert "FAIL  t" in out and "  FAIL c" in out and failure in out
    assert out.rstrip().endswith("1 case(s): 0 passed, 1 failed")


def test_violations_are_matched_as_a_set(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    two = pod(
        containers=[
            {"name": "a", "image": "x"},
            {"name": "b", "image": "y", "securityContext": {"runAsUser": 0}},
        ]
    )
    loose = {"policy": "no-root"}  # listed first, it must not take the only match of the specific one
    specific = {"policy": "no-root", "path": "spec.containers[1].securityContext.runAsUser"}
    expect = {"allowed": False, "violations": [loose, loose, specific]}
    path = make_suite(tmp_path, [case(expect, two)])
    code, out, _ = run_test(capsys, str(path))
    assert code == 0, out


def test_warnings_and_annotations_match_in_order(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    policy = (POLICIES / "no-root.yaml").read_text().replace("actions: [Deny]", "actions: [Warn, Audit]")
    good = {"allowed": True, "warnings": [ROOT_MESSAGE], "auditAnnotations": {"no-root": ROOT_MESSAGE}}
    path = make_suite(tmp_path, [case(good)], policy)
    assert run_test(capsys, str(path))[0] == 0
    bad = {"allowed": True, "warnings": ["nope"], "auditAnnotations": {"no-root": "nope"}}
    path = make_suite(tmp_path, [case(bad)], policy)
    code, out, _ = run_test(capsys, str(path))
    assert (
        code == 1
        and "warning 0 does not match /nope/" in out
        and "audit annotation no-root does not match" in out
    )


def test_mutation_patch_golden_file_and_update(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    patch = [
        {"op": "add", "path": "/metadata/labels/example.com~1owner~0team", "value": "platform"},
        {"op": "add", "path": "/spec/securityContext", "value": {"runAsNonRoot": True}},
    ]
    expect = {"allowed": False, "patch": patch, "patched": "root.patched.yaml", "patchedAllowed": True}
    path = make_suite(tmp_path, [case(expect)], MUTATING_POLICY)
    code, out, _ = run_test(capsys, str(path))
    assert code == 1 and "root.patched.yaml does not exist; write it with `podgate test --update`" in out
    code, out, _ = run_test(capsys, "--update", str(path))
    assert code == 0 and "(golden file updated)" in out, out
    golden = yaml.safe_load((tmp_path / "root.patched.yaml").read_text())
    assert golden["spec"]["securityContext"] == {"runAsNonRoot": True}
    assert run_test(capsys, str(path))[0] == 0
    (tmp_path / "root.patched.yaml").write_text(yaml.safe_dump({**golden, "kind": "Other"}))
    code, out, _ = run_test(capsys, str(path))
    assert code == 1 and "the patched object differs from" in out


def test_a_non_idempotent_mutation_is_caught(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from webhook.policy.podspec import PodView
    from webhook.policy.registry import MUTATORS, CheckParams, Mutator, mutator

    class Params(CheckParams):
        pass

    def build(params: Params) -> Mutator:
        def apply(pod: PodView) -> None:  # appends on every run: the bug the runner must catch
            pod.node["metadata"].setdefault("annotations", {})
            count = len(pod.node["metadata"]["annotations"])
            pod.node["metadata"]["annotations"][f"n{count}"] = "x"

        return Mutator(apply=apply, targets=frozenset({"metadata.annotations"}))

    if "test-not-idempotent" not in MUTATORS:
        mutator("test-not-idempotent", params=Params, summary="tests: broken on purpose")(build)
    policy = MUTATING_POLICY.replace(
        "    - mutator: test-owner-label\n    - mutator: test-non-root\n",
        "    - mutator: test-not-idempotent\n",
    )
    path = make_suite(tmp_path, [case({"allowed": False})], policy)
    code, out, _ = run_test(capsys, str(path))
    assert code == 1 and "mutation is not idempotent" in out


@pytest.mark.parametrize(
    ("edit", "problem"),
    [
        (
            lambda s: s["spec"]["cases"][0].update(object="nope.yaml"),
            "spec.cases[0] (c): object: fixture nope.yaml does not exist",
        ),
        (
            lambda s: s["spec"]["cases"][0].update(oldObject="gone.yaml"),
            "spec.cases[0] (c): oldObject: fixture gone.yaml does not exist",
        ),
        (
            lambda s: s["spec"]["cases"][0]["expect"].pop("allowed"),
            "case 'c': spec.cases[0].expect.allowed: required field is missing",
        ),
        (lambda s: s["spec"]["cases"][0].update(colour="red"), "spec.cases[0].colour: unknown field"),
        (lambda s: s["spec"]["cases"][0].update(operation="PATCH"), "spec.cases[0].operation"),
        (lambda s: s["spec"]["cases"][0]["expect"].update(allowed="yes"), "spec.cases[0].expect.allowed"),
        (lambda s: s["spec"]["cases"][0]["expect"].update(warnings=["("]), "invalid regular expression"),
        (
            lambda s: s["spec"].update(policies=["missing.yaml"]),
            "spec.policies[0]: missing.yaml does not exist",
        ),
        (
            lambda s: s["spec"]["cases"].append(s["spec"]["cases"][0]),
            "spec.cases[1] (c): name: used by an earlier case",
        ),
    ],
)
def test_suite_errors_exit_2_naming_file_case_and_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], edit: Any, problem: str
) -> None:
    path = make_suite(tmp_path, [case({"allowed": False})])
    suite = yaml.safe_load(path.read_text())
    edit(suite)
    path.write_text(yaml.safe_dump(suite))
    code, out, _ = run_test(capsys, str(path))
    assert code == 2
    assert f"ERROR {path}: " in out and problem in out, out


def test_a_broken_policy_is_a_suite_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = make_suite(tmp_path, [case({"allowed": False})], "apiVersion: podgate.io/v1alpha1\nkind: Policy\n")
    code, out, _ = run_test(capsys, str(path))
    assert code == 2 and "spec.policies: " in out and "policy.yaml: document 0" in out


def test_admission_review_fixture_gives_the_request(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copy(
        SHARED_FIXTURES / "pod-update-ephemeralcontainers-kubectl-debug.json", tmp_path / "debug.json"
    )
    path = make_suite(tmp_path, [case({"allowed": False}, "debug.json")])
    code, out, _ = run_test(capsys, "-o", "json", str(path))
    report = json.loads(out)
    (result,) = report["suites"][0]["cases"]
    assert code == 0, out
    assert any("ephemeral container" in v["message"] for v in result["violations"])  # kubectl debug is judged


def test_json_and_junit_reports(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = {**case(DENIED_AS_EXPECTED), "name": "good"}
    bad = {**case({"allowed": True}), "name": "bad"}
    path = make_suite(tmp_path, [good, bad])
    code, out, _ = run_test(capsys, "-o", "json", str(path))
    report = json.loads(out)
    assert code == 1 and report["passed"] is False
    assert [(c["name"], c["passed"]) for c in report["suites"][0]["cases"]] == [
        ("good", True),
        ("bad", False),
    ]
    code, out, _ = run_test(capsys, "-o", "junit", str(path))
    root = ET.fromstring(out.split("?>", 1)[1])
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("2", "1", "0")
    (failure,) = root.iter("failure")
    assert failure.get("message") == "expected allowed, got denied"
    (tmp_path / "other").mkdir()
    broken = make_suite(tmp_path / "other", [case({"allowed": False}, "nope.yaml")])
    code, out, _ = run_test(capsys, "-o", "junit", str(path), str(broken))
    root = ET.fromstring(out.split("?>", 1)[1])
    assert code == 2 and root.get("errors") == "1"


def test_directories_are_searched_and_empty_paths_are_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    make_suite(tmp_path, [case(DENIED_AS_EXPECTED)])
    code, out, _ = run_test(capsys, str(tmp_path))
    assert code == 0 and "1 suite(s), 1 case(s): 1 passed" in out
    (tmp_path / "empty").mkdir()
    code, _, err = run_test(capsys, str(tmp_path / "empty"))
    assert code == 2 and "no PolicyTest suite found" in err


def test_docs_example_suite_format_is_accepted(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Every context field of the documented format, in one case."""
    (tmp_path / "policy.yaml").write_text((POLICIES / "no-root.yaml").read_text())
    (tmp_path / "root.yaml").write_text(yaml.safe_dump(ROOT_POD))
    (tmp_path / "suite.yaml").write_text(
        textwrap.dedent("""\
        apiVersion: podgate.io/v1alpha1
        kind: PolicyTest
        metadata: {name: full}
        spec:
          policies: [policy.yaml]
          cases:
            - name: every-field
              object: root.yaml
              operation: UPDATE
              oldObject: {apiVersion: v1, kind: Pod, metadata: {name: app}, spec: {securityContext: {runAsNonRoot: true}, containers: [{name: app, image: x}]}}
              subResource: ""
              namespace: shop
              namespaceLabels: {env: prod}
              userInfo: {username: alice, groups: [dev]}
              dryRun: false
              expect:
                allowed: false
                violations: [{policy: no-root, rule: no-root, path: spec.securityContext.runAsNonRoot, message: non-root}]
                warnings: []
                auditAnnotations: {}
                patchedAllowed: false
        """)
    )
    code, out, _ = run_test(capsys, str(tmp_path / "suite.yaml"))
    assert code == 0, out


def test_an_edited_policy_is_reloaded_in_the_same_process(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = make_suite(tmp_path, [case(DENIED_AS_EXPECTED)])
    assert run_test(capsys, str(path))[0] == 0
    policy = tmp_path / "policy.yaml"
    policy.write_text(policy.read_text().replace("actions: [Deny]", "actions: [Warn]") + "\n")
    code, out, _ = run_test(capsys, str(path))
    assert code == 1 and "expected denied, got allowed" in out
