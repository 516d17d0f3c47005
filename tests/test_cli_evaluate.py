"""`podgate evaluate`: inputs of every shape, the three outputs, --mutate, and the exit codes."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pyjsonpatch
import pytest
import yaml
from conftest import POLICIES, SHARED_FIXTURES, pod
from testing_mutators import MUTATING_POLICY, OWNER_LABEL

from webhook.cli import main

ROOT_POD = pod()
NON_ROOT_POD = pod(securityContext={"runAsNonRoot": True})


NO_ROOT = str(POLICIES / "no-root.yaml")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """`podgate` with argv; evaluate runs against no-root alone unless -p is given (the library grows)."""
    if argv[0] == "evaluate" and "-p" not in argv:
        argv = ("evaluate", "-p", NO_ROOT, *argv[1:])
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def write(path: Path, *documents: Any) -> str:
    path.write_text("---\n".join(yaml.safe_dump(d) for d in documents))
    return str(path)


def test_allowed_exits_0_denied_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ok = write(tmp_path / "ok.yaml", NON_ROOT_POD)
    bad = write(tmp_path / "bad.yaml", ROOT_POD)
    assert run(capsys, "evaluate", ok)[0] == 0
    code, out, _ = run(capsys, "evaluate", ok, bad)
    assert code == 1
    assert f"DENIED   Pod default/app  ({bad}: document 0)" in out
    assert "Deny  no-root/no-root  at spec.securityContext.runAsNonRoot" in out
    assert 'container "app" (spec.containers[0]) must run as a non-root user' in out
    assert out.endswith("2 objects: 1 allowed, 1 denied\n")


def test_json_entry_per_object_of_every_input_shape(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    listing = {"apiVersion": "v1", "kind": "PodList", "items": [NON_ROOT_POD, ROOT_POD]}
    multi = write(tmp_path / "multi.yaml", ROOT_POD, listing)
    as_json = tmp_path / "list.json"
    as_json.write_text(json.dumps(listing))
    review = str(SHARED_FIXTURES / "deployment-update-image.json")
    code, out, _ = run(capsys, "evaluate", "-o", "json", multi, str(as_json), review)
    entries = json.loads(out)
    assert code == 1
    where = [(Path(e["source"]).name, e["document"], e["item"], e["allowed"]) for e in entries]
    assert where == [
        ("multi.yaml", 0, None, False),
        ("multi.yaml", 1, 0, True),
        ("multi.yaml", 1, 1, False),
        ("list.json", 0, 0, True),
        ("list.json", 0, 1, False),
        ("deployment-update-image.json", 0, None, entries[5]["allowed"]),
    ]
    assert entries[5]["operation"] == "UPDATE" and entries[5]["kind"] == "Deployment"
    violation = entries[0]["violations"][0]
    assert {k: violation[k] for k in ("policy", "rule", "path", "actions")} == {
        "policy": "no-root",
        "rule": "no-root",
        "path": "spec.securityContext.runAsNonRoot",
        "actions": ["Deny"],
    }
    assert violation["message"].endswith("[policy no-root]") and violation["remediation"]


def test_default_policies_are_the_shipped_library(capsys: pytest.CaptureFixture[str]) -> None:
    review = str(SHARED_FIXTURES / "pod-create-kubectl-run.json")
    assert main(["evaluate", "-o", "json", review]) == main(
        ["evaluate", "-o", "json", "-p", str(POLICIES), review]
    )
    default, explicit = capsys.readouterr().out.split("\n]\n", 1)
    assert json.loads(default + "]") == json.loads(explicit)
    assert {v["policy"] for v in json.loads(explicit)[0]["violations"]} >= {"no-root"}


def test_yaml_output_and_stdin(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(NON_ROOT_POD)))
    code, out, _ = run(capsys, "evaluate", "-o", "yaml", "-")
    (entry,) = yaml.safe_load(out)
    assert code == 0 and entry["source"] == "-" and entry["allowed"] is True


def test_warn_and_audit_are_shown(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    policy = (POLICIES / "no-root.yaml").read_text().replace("actions: [Deny]", "actions: [Warn, Audit]")
    (tmp_path / "p.yaml").write_text(policy)
    code, out, _ = run(
        capsys, "evaluate", "-p", str(tmp_path / "p.yaml"), write(tmp_path / "o.yaml", ROOT_POD)
    )
    assert code == 0
    assert "ALLOWED" in out and "  warning: container" in out and "  audit no-root: container" in out


def test_mutate_shows_a_patch_that_applies_and_judges_the_patched_object(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "p.yaml").write_text(MUTATING_POLICY)
    manifest = write(tmp_path / "o.yaml", ROOT_POD)
    code, out, _ = run(capsys, "evaluate", "--mutate", "-o", "json", "-p", str(tmp_path / "p.yaml"), manifest)
    (entry,) = json.loads(out)
    assert code == 0 and entry["allowed"] is True  # the mutation made it pass, as in a cluster
    assert {"op": "add", "path": "/metadata/labels/example.com~1owner~0team", "value": "platform"} in entry[
        "patch"
    ]
    assert pyjsonpatch.apply_patch(ROOT_POD, entry["patch"], mutate=False).obj == entry["patched"]
    assert entry["patched"]["metadata"]["labels"][OWNER_LABEL] == "platform"
    code, out, _ = run(capsys, "evaluate", "--mutate", "-p", str(tmp_path / "p.yaml"), manifest)
    assert "  patch:\n" in out and '"op":"add"' in out
    code, out, _ = run(capsys, "evaluate", "-p", str(tmp_path / "p.yaml"), manifest)
    assert code == 1 and "  patch:" not in out  # without --mutate, the object as written


@pytest.mark.parametrize(
    ("files", "message"),
    [
        (["missing.yaml"], "missing.yaml: cannot read"),
        (["bad.yaml"], "bad.yaml: document 1: invalid YAML at line"),
        (["dup.yaml"], "dup.yaml: document 0: invalid YAML at line 2, column 1: duplicate key 'kind'"),
        (["scalar.json"], "scalar.json: document 0: expected a Kubernetes object"),
    ],
)
def test_input_errors_exit_2_naming_file_and_document(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], files: list[str], message: str
) -> None:
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(NON_ROOT_POD) + "---\na: [1\n")
    (tmp_path / "dup.yaml").write_text("kind: Pod\nkind: Pod\n")
    (tmp_path / "scalar.json").write_text("42")
    good = write(tmp_path / "good.yaml", ROOT_POD)
    code, out, err = run(capsys, "evaluate", good, *(str(tmp_path / f) for f in files))
    assert code == 2
    assert message in err and "Traceback" not in err
    assert "DENIED" in out  # the readable files were still judged
    assert out.endswith("denied; 1 input error (below)\n")  # the total says it is not the whole input


def test_usage_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "broken.yaml").write_text(
        "apiVersion: podgate.io/v1alpha1\nkind: Policy\nmetadata: {name: x}\n"
    )
    manifest = write(tmp_path / "o.yaml", ROOT_POD)
    code, _, err = run(capsys, "evaluate", "-p", str(tmp_path / "broken.yaml"), manifest)
    assert code == 2 and "cannot load the policies" in err and "broken.yaml: document 0: spec" in err
    with pytest.raises(SystemExit) as exit_info:
        main(["evaluate", "--namespace-labels", "novalue", manifest])
    assert exit_info.value.code == 2
    assert "expected key=value pairs" in capsys.readouterr().err


def test_namespace_labels_reach_namespace_selectors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = (
        (POLICIES / "no-root.yaml")
        .read_text()
        .replace("excludedNamespaces: [kube-system]", "namespaceSelector: {matchLabels: {env: prod}}")
    )
    (tmp_path / "p.yaml").write_text(policy)
    manifest = write(tmp_path / "o.yaml", ROOT_POD)
    args = ["evaluate", "-p", str(tmp_path / "p.yaml"), manifest, "--namespace-labels"]
    assert run(capsys, *args, "env=prod")[0] == 1
    assert run(capsys, *args, "env=dev,team=x")[0] == 0


def test_json_input_is_read_with_orjson_and_yaml_fallback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stream = tmp_path / "stream.json"  # two JSON documents: not one JSON value, but valid YAML
    stream.write_text(json.dumps(ROOT_POD) + "\n---\n" + json.dumps(NON_ROOT_POD))
    code, out, _ = run(capsys, "evaluate", "-o", "json", str(stream))
    assert code == 1
    assert [(e["document"], e["allowed"]) for e in json.loads(out)] == [(0, False), (1, True)]


def test_the_real_command_in_a_process(tmp_path: Path) -> None:
    """The installed entry point, end to end: exit codes and a one-line error on stderr, no traceback."""
    import subprocess
    import sys

    manifest = write(tmp_path / "o.yaml", ROOT_POD)
    (tmp_path / "bad.yaml").write_text("a: [1\n")
    command = [sys.executable, "-m", "webhook", "evaluate", "-p", NO_ROOT]
    denied = subprocess.run([*command, manifest], capture_output=True, text=True, check=False)
    assert denied.returncode == 1 and "DENIED" in denied.stdout
    broken = subprocess.run(
        [*command, str(tmp_path / "bad.yaml")], capture_output=True, text=True, check=False
    )
    assert broken.returncode == 2
    assert broken.stderr.startswith(
        f"podgate evaluate: {tmp_path / 'bad.yaml'}: document 0: invalid YAML at line"
    )
    assert "Traceback" not in broken.stderr
