"""`podgate doctor` catches each lockout risk: the shipped enforce overlay passes, and each change that
can lock a cluster is refused with a reason naming the object."""

from __future__ import annotations

import base64
import copy
import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from _deploy import by_kind, kustomize, one, tree_with_certs
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from webhook.certs import KeyPair, generate_ca, generate_serving
from webhook.cli import main
from webhook.deploy.doctor import RISKS, Installation, Risk, diagnose
from webhook.deploy.objects import K8sObject

Objects = list[dict[str, Any]]


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tree_with_certs(tmp_path_factory.mktemp("doctor"))


@pytest.fixture(scope="module")
def enforce(tree: Path) -> Objects:
    return kustomize(tree / "manifests" / "overlays" / "enforce")


def run(objects: Objects) -> list[Risk]:
    return diagnose(Installation([K8sObject(f"#{i}", o) for i, o in enumerate(objects)]))


def set_excluded(
    values: list[str], kind: str = "ValidatingWebhookConfiguration"
) -> Callable[[Objects], None]:
    """Set the excluded namespaces of one configuration's webhook: each one is checked on its own."""

    def change(objects: Objects) -> None:
        one(objects, kind)["webhooks"][0]["namespaceSelector"]["matchExpressions"][0]["values"] = values

    return change


def set_replicas(objects: Objects) -> None:
    one(objects, "Deployment")["spec"]["replicas"] = 1
    one(objects, "HorizontalPodAutoscaler")["spec"]["minReplicas"] = 1


def drop(kind: str) -> Callable[[Objects], None]:
    def change(objects: Objects) -> None:
        objects[:] = [o for o in objects if o["kind"] != kind]

    return change


def set_webhook(field: str, value: Any) -> Callable[[Objects], None]:
    """Set `field` on every webhook of the validating and the mutating configuration."""

    def change(objects: Objects) -> None:
        for configuration in objects:
            if configuration["kind"] not in (
                "ValidatingWebhookConfiguration",
                "MutatingWebhookConfiguration",
            ):
                continue
            for webhook in configuration["webhooks"]:
                if value is None:
                    webhook.pop(field, None) if "." not in field else webhook["clientConfig"].pop(
                        field.split(".")[1]
                    )
                elif "." in field:
                    webhook["clientConfig"][field.split(".")[1]] = value
                else:
                    webhook[field] = value

    return change


def other_ca_bundle(objects: Objects) -> None:
    other = generate_ca()
    one(objects, "ValidatingWebhookConfiguration")["webhooks"][0]["clientConfig"]["caBundle"] = (
        base64.b64encode(other.cert_pem).decode()
    )


def expired_serving_cert(objects: Objects) -> None:
    """A certificate whose validity ended yesterday, from a CA the caBundle trusts."""
    ca = generate_ca()
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "podgate.podgate-system.svc")]))
        .issuer_name(ca.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=30))
        .not_valid_after(now - dt.timedelta(days=1))
        .sign(ca.key, hashes.SHA256())
    )
    one(objects, "ValidatingWebhookConfiguration")["webhooks"][0]["clientConfig"]["caBundle"] = (
        base64.b64encode(ca.cert_pem).decode()
    )
    one(objects, "Secret")["data"]["tls.crt"] = base64.b64encode(KeyPair(cert, key).cert_pem).decode()


def soon_expiring_serving_cert(objects: Objects) -> None:
    ca = generate_ca()
    serving = generate_serving(ca, dns_names=["podgate.podgate-system.svc"], days=7)
    one(objects, "ValidatingWebhookConfiguration")["webhooks"][0]["clientConfig"]["caBundle"] = (
        base64.b64encode(ca.cert_pem).decode()
    )
    one(objects, "Secret")["data"]["tls.crt"] = base64.b64encode(serving.cert_pem).decode()


def wrong_service_port(objects: Objects) -> None:
    one(objects, "Service")["spec"]["ports"][0]["port"] = 8443


def service_selects_nothing(objects: Objects) -> None:
    one(objects, "Service")["spec"]["selector"] = {"app.kubernetes.io/name": "podgate-typo"}


def no_service(objects: Objects) -> None:
    drop("Service")(objects)


def cluster_scope(objects: Objects) -> None:
    one(objects, "ValidatingWebhookConfiguration")["webhooks"][0]["rules"][0]["scope"] = "*"


def none_ready(objects: Objects) -> None:
    """As a cluster read shows a Deployment whose Pods all crash: a status with no readyReplicas."""
    one(objects, "Deployment")["status"] = {"observedGeneration": 1, "replicas": 3, "unavailableReplicas": 3}


EVERYTHING = [
    {"apiGroups": ["*"], "apiVersions": ["*"], "operations": ["*"], "resources": ["*/*"], "scope": "*"}
]


def budget_blocks_drains(objects: Objects) -> None:
    one(objects, "PodDisruptionBudget")["spec"]["maxUnavailable"] = 0


# (case id, change, risk expected, level expected, words in the message)
CASES: list[tuple[str, Callable[[Objects], None], str, str, str]] = [
    (
        "own-namespace",
        set_excluded(["kube-node-lease", "kube-system"]),
        "own-namespace-selected",
        "error",
        "'podgate-system'",
    ),
    (
        "own-namespace-mutating",
        set_excluded(["kube-node-lease", "kube-system"], "MutatingWebhookConfiguration"),
        "own-namespace-selected",
        "error",
        "'podgate-system'",
    ),
    (
        "kube-system",
        set_excluded(["kube-node-lease", "podgate-system"]),
        "system-namespace-selected",
        "error",
        "kube-system",
    ),
    (
        "no-selector",
        set_webhook("namespaceSelector", None),
        "system-namespace-selected",
        "error",
        "kube-system, kube-node-lease",
    ),
    ("one-replica", set_replicas, "too-few-replicas", "error", "minReplicas is 1"),
    ("no-pdb", drop("PodDisruptionBudget"), "no-disruption-budget", "error", "no PodDisruptionBudget"),
    ("pdb-blocks-drains", budget_blocks_drains, "no-disruption-budget", "warning", "drains will hang"),
    ("timeout-30", set_webhook("timeoutSeconds", 30), "timeout-too-high", "error", "timeoutSeconds is 30"),
    (
        "no-ca-bundle",
        set_webhook("clientConfig.caBundle", None),
        "ca-bundle-mismatch",
        "error",
        "no caBundle",
    ),
    ("other-ca", other_ca_bundle, "ca-bundle-mismatch", "error", "does not hold the CA"),
    (
        "bad-ca-bundle",
        set_webhook("clientConfig.caBundle", "bm90IGEgY2VydA=="),
        "ca-bundle-mismatch",
        "error",
        "not base64 PEM",
    ),
    ("expired", expired_serving_cert, "certificate-expiry", "error", "expired on"),
    ("expiring", soon_expiring_serving_cert, "certificate-expiry", "warning", "expires in"),
    ("wrong-port", wrong_service_port, "service-unreachable", "error", "calls port 443"),
    ("no-backend", service_selects_nothing, "service-unreachable", "error", "no Deployment"),
    ("cluster-scope", cluster_scope, "rules-too-broad", "error", "scope '*', which includes cluster-scoped"),
    (
        "everything",
        set_webhook("rules", EVERYTHING),
        "rules-too-broad",
        "error",
        "matches every resource (*/*)",
    ),
    ("none-ready", none_ready, "replicas-unavailable", "error", "every matching request is refused now"),
    ("no-service", no_service, "service-unreachable", "error", "no Service podgate-system/podgate"),
]


def test_every_risk_module_has_a_case() -> None:
    assert {risk for _, _, risk, _, _ in CASES} == set(RISKS)


def test_the_shipped_overlay_has_no_risk(enforce: Objects) -> None:
    assert run(enforce) == []


@pytest.mark.parametrize(
    ("change", "risk", "level", "words"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_each_lockout_risk_is_caught(
    enforce: Objects, change: Callable[[Objects], None], risk: str, level: str, words: str
) -> None:
    objects = copy.deepcopy(enforce)
    change(objects)
    found = [r for r in run(objects) if r.risk == risk]
    assert found, run(objects)
    assert found[0].level == level
    assert words in found[0].message, found[0].message


@pytest.mark.parametrize(
    "change",
    [set_excluded(["kube-node-lease"]), set_replicas, drop("PodDisruptionBudget"), other_ca_bundle],
    ids=["selectors", "one-replica", "no-pdb", "other-ca"],
)
def test_a_fail_open_webhook_is_never_refused(enforce: Objects, change: Callable[[Objects], None]) -> None:
    """The same setups with failurePolicy Ignore cannot lock the cluster: at most warnings."""
    objects = copy.deepcopy(enforce)
    change(objects)
    set_webhook("failurePolicy", "Ignore")(objects)
    assert all(r.level == "warning" for r in run(objects)), run(objects)


def test_failure_policy_defaults_to_fail(enforce: Objects) -> None:
    objects = copy.deepcopy(enforce)
    set_webhook("failurePolicy", None)(objects)
    set_replicas(objects)
    assert [r.risk for r in run(objects) if r.level == "error"] == ["too-few-replicas"]


def test_namespace_labels_are_honoured(enforce: Objects) -> None:
    """An opt-in selector (matchLabels) that podgate's namespace does not carry is safe."""
    objects = copy.deepcopy(enforce)
    set_webhook("namespaceSelector", {"matchLabels": {"podgate.io/enforce": "true"}})(objects)
    assert run(objects) == []
    one(objects, "Namespace")["metadata"]["labels"]["podgate.io/enforce"] = "true"
    # One finding per webhook that selects it: each names the configuration the operator must fix.
    found = run(objects)
    assert [r.risk for r in found] == ["own-namespace-selected"] * 4
    assert sorted(r.where for r in found) == [
        "MutatingWebhookConfiguration podgate: webhook mutate.podgate.io",
        "ValidatingWebhookConfiguration podgate: webhook holds.incident.podgate.io",
        "ValidatingWebhookConfiguration podgate: webhook sessions.incident.podgate.io",
        "ValidatingWebhookConfiguration podgate: webhook validate.podgate.io",
    ]


def test_cli_refuses_with_reasons_and_exit_code_1(
    enforce: Objects, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    objects = copy.deepcopy(enforce)
    set_replicas(objects)
    set_excluded(["kube-node-lease"])(objects)
    rendered = tmp_path / "rendered.yaml"
    rendered.write_text(yaml.safe_dump_all(objects))
    assert main(["doctor", str(rendered)]) == 1
    out = capsys.readouterr().out
    assert "error: [too-few-replicas] Deployment podgate-system/podgate" in out
    assert (
        "error: [own-namespace-selected] ValidatingWebhookConfiguration podgate: webhook validate.podgate.io"
        in out
    )
    assert "error: [system-namespace-selected]" in out
    assert out.strip().endswith(
        "refused: 3 lockout risk(s) in " + str(rendered) + "; fix them before applying"
    )


def test_cli_renders_a_kustomize_directory(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["doctor", str(tree / "manifests" / "overlays" / "enforce")]) == 0
    # validate, holds and sessions (the access policies), mutate
    assert "ok: 4 webhook(s)" in capsys.readouterr().out


def test_cli_checks_the_given_certificate_when_no_secret_is_rendered(
    tree: Path, enforce: Objects, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    objects = [o for o in enforce if o["kind"] != "Secret"]
    rendered = tmp_path / "no-secret.yaml"
    rendered.write_text(yaml.safe_dump_all(objects))
    assert main(["doctor", str(rendered)]) == 0
    assert "warning: [ca-bundle-mismatch]" in capsys.readouterr().out
    assert main(["doctor", str(rendered), "--cert", str(tree / "certs" / "tls.crt")]) == 0
    assert "warning:" not in capsys.readouterr().out
    other = tmp_path / "other.crt"
    other.write_bytes(generate_serving(generate_ca(), dns_names=["x"]).cert_pem)
    assert main(["doctor", str(rendered), "--cert", str(other)]) == 1


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["doctor"], "give manifest PATHs"),
        (["doctor", "nowhere.yaml"], "nowhere.yaml: no such file or directory"),
        (["doctor", "BAD"], "document 0: not a Kubernetes object"),
        (["doctor", "LIST"], "LIST: document 0: items[1] is not an object"),
        (["doctor", "BIN"], "BIN: not UTF-8 text (byte 0)"),
    ],
)
def test_cli_usage_errors(
    argv: list[str],
    message: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "BAD").write_text("- just a list\n")
    (tmp_path / "BIN").write_bytes(b"\xff\xfe")
    (tmp_path / "LIST").write_text('{"kind": "List", "items": [{"kind": "Pod"}, 1]}\n')
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_no_webhook_is_an_error(enforce: Objects) -> None:
    objects = [o for o in enforce if "Webhook" not in o["kind"]]
    assert [r.risk for r in run(objects)] == ["no-webhooks"]
    assert by_kind(objects, "Deployment")
