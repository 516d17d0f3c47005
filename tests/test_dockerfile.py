"""The Dockerfile, parsed (no container engine runs here): a build stage and a small final stage with no
build tools and no source tree, a numeric non-root user matching the Deployment, exec-form entrypoint,
the port the probes use, and a build context that can never carry the keys in certs/."""

from __future__ import annotations

import fnmatch
import json
import subprocess
import tomllib
from typing import Any

import yaml
from _deploy import ROOT
from dockerfile_parse import DockerfileParser

Instruction = dict[str, Any]


def stages() -> list[list[Instruction]]:
    parser = DockerfileParser(str(ROOT / "Dockerfile"))
    found: list[list[Instruction]] = []
    for instruction in parser.structure:
        if instruction["instruction"] == "FROM":
            found.append([])
        if found and instruction["instruction"] != "COMMENT":
            found[-1].append(instruction)
    return found


def values(stage: list[Instruction], name: str) -> list[str]:
    return [i["value"] for i in stage if i["instruction"] == name]


def deployment_container() -> tuple[dict[str, Any], dict[str, Any]]:
    deployment = yaml.safe_load((ROOT / "manifests" / "base" / "deployment.yaml").read_text())
    pod = deployment["spec"]["template"]["spec"]
    return pod, pod["containers"][0]


def test_two_stages_from_a_pinned_python() -> None:
    build, final = stages()
    assert values(build, "FROM") == ["python:${PYTHON} AS build"]
    assert values(final, "FROM") == ["python:${PYTHON}"]
    parser = DockerfileParser(str(ROOT / "Dockerfile"))
    assert parser.baseimage.startswith("python:3.")  # a version, never :latest
    assert "slim" in parser.baseimage


def test_the_final_stage_has_no_build_tools_and_no_source() -> None:
    _, final = stages()
    runs = " ".join(values(final, "RUN"))
    for tool in ("apt-get", "apk ", "gcc", "build-essential", "git "):
        assert tool not in runs
    assert "pip uninstall -y pip" in runs  # not even an installer remains
    assert "--no-index" in runs  # only the wheels built in the build stage
    assert values(final, "COPY") == [] and values(final, "ADD") == []


def test_it_runs_as_the_numeric_non_root_user_the_deployment_declares() -> None:
    _, final = stages()
    (user,) = values(final, "USER")
    uid, gid = (int(part) for part in user.split(":"))
    assert uid != 0 and gid != 0
    pod, container = deployment_container()
    assert (pod["securityContext"]["runAsUser"], pod["securityContext"]["runAsGroup"]) == (uid, gid)
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    env = " ".join(values(final, "ENV"))
    assert "PYTHONDONTWRITEBYTECODE=1" in env  # nothing tries to write .pyc files on a read-only root


def test_entrypoint_port_and_command_match_the_package_and_the_deployment() -> None:
    _, final = stages()
    (entrypoint,) = values(final, "ENTRYPOINT")
    assert json.loads(entrypoint) == ["podgate"]  # exec form: signals reach the server
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert "podgate" in scripts
    assert json.loads(values(final, "CMD")[0])[0] == "serve"
    (port,) = values(final, "EXPOSE")
    _, container = deployment_container()
    assert container["ports"][0]["containerPort"] == int(port)
    assert container["args"][0] == "serve"


def test_the_build_context_is_an_allow_list_without_certs() -> None:
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert patterns[0] == "*"
    allowed = [p[1:].rstrip("/") for p in patterns if p.startswith("!")]
    assert not any(fnmatch.fnmatch("certs", p) or p.startswith("certs") for p in allowed)
    build, _ = stages()
    for copy in values(build, "COPY"):
        *sources, _destination = copy.split()
        for source in sources:
            assert (ROOT / source).exists(), source
            assert source.rstrip("/") in allowed, f"{source} is copied but excluded from the build context"


def test_the_tls_files_are_never_committed() -> None:
    def ignored(path: str) -> bool:
        done = subprocess.run(["git", "check-ignore", "-q", path], cwd=ROOT, check=False)
        assert done.returncode in (0, 1), "not a git checkout"
        return done.returncode == 0

    for secret in ("tls.key", "ca.key", "ca-next.key", "tls.crt", "ca-bundle.crt"):
        assert ignored(f"certs/{secret}")
    assert not ignored("certs/kustomization.yaml") and not ignored("certs/README.md")
