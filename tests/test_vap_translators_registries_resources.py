"""The CEL translations of trusted-registries and resource-limits decide exactly as the checks.

Image references: the CEL reading of a reference (valid, registry, repository, tag, digest) is compared
with images.parse_image on crafted and generated references (docker.io and `library/` defaulting,
`index.docker.io`, `localhost`, ports, IPv6 hosts, upper case, digests of every algorithm and length,
length limits, image ids), then whole pods are judged by podgate and by the exported policy with every
parameter of the check. Quantities: every suffix and exponent form, decimals, numbers as YAML gives
them, invalid text, bounds, exact limit/request ratios, requests implied by limits, pod-level
resources, init and ephemeral containers. Parameters without an exact translation must be reported.
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from conftest import pod
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from vap_helpers import HEADER, POLICY, agree, both, decide

from webhook.policy import Request, evaluate, load_policy_text
from webhook.policy.cel.library import admission_env
from webhook.policy.checks.resource_limits import _ratio_exceeded
from webhook.policy.document import PolicyDocument
from webhook.policy.images import ImageReferenceError, parse_image
from webhook.policy.quantity import parse_quantity
from webhook.policy.vap.exporter import export_documents
from webhook.policy.vap.translators.resource_limits import as_quantity, valid
from webhook.policy.vap.translators.trusted_registries import IMAGE_REFERENCES

# --- image references ------------------------------------------------------------------------------

_READ = admission_env().compile(IMAGE_REFERENCES["expression"].replace("variables.images", "[object]"))


def cel_reading(image: str) -> tuple[bool, str, str, str | None, bool] | None:
    """(registry, repository, tag, has digest) as the exported CEL reads `image`; None when invalid."""
    found = _READ.eval(admission_env().Activation({"object": image})).plain_value()[0]
    if not found["valid"]:
        return None
    remainder = found["remainder"]
    name, _, digest = remainder.partition("@")
    repository, _, tag = name.partition(":")
    return True, found["registry"], repository, tag or None, bool(digest)


def podgate_reading(image: str) -> tuple[bool, str, str, str | None, bool] | None:
    try:
        ref = parse_image(image)
    except ImageReferenceError:
        return None
    return True, ref.registry, ref.repository, ref.tag, bool(ref.digest)


HEX = "0123456789abcdef"
SHA256 = "sha256:" + HEX * 4
HOSTS = [
    "docker.io", "Docker.io", "DOCKER.IO", "index.docker.io", "Index.docker.io", "localhost", "LOCALHOST",
    "Localhost", "localhost:5000", "registry:5000", "registry.example.com", "Registry.Example.COM",
    "registry.example.com:5000", "registry.example.com.evil.io", "evil.io", "ghcr.io", "[::1]",
    "[::1]:5000", "[FE80::1]:443", "[::1", "a_b.c", "MyReg", "My_Reg", "-bad.com", "bad-.com", "a..b",
    "1.2.3.4:80", "host:port", "x.y:", "acme", "library", "",
]  # fmt: skip
PATHS = [
    "nginx", "library/nginx", "library", "library/a/b", "acme/web", "acme-evil/x", "a__b", "a___b",
    "a--b", "a._b", "a.-b", "Nginx", "a/B", "a/", "/a", "a//b", "_a", "a" * 64, "a" * 247, "a" * 248,
    "b/" + "a" * 253, "b/" + "a" * 254, "registry.example.com/x", "x.y/z",
]  # fmt: skip
TAGS = ["", ":1", ":latest", ":LATEST", ":Latest", ":v1.2-rc_3", ":" + "t" * 128, ":" + "t" * 129, ":.x",
        ":-x", ":", ":a:b", ":a/b"]  # fmt: skip
DIGESTS = [
    "", "@" + SHA256, "@sha256:" + HEX.upper() * 4, "@sha256:" + HEX * 3, "@sha256:" + HEX * 4 + "0",
    "@sha384:" + HEX * 6, "@sha512:" + HEX * 8, "@sha512:" + HEX * 4, "@md5:" + HEX * 2,
    "@sha1:" + HEX * 2 + "01234567", "@SHA256:" + HEX * 4, "@sha256+x:" + HEX * 4, "@", "@sha256:",
]  # fmt: skip
SPECIAL = [
    "", " nginx", "nginx ", "nginx\n", "\tnginx", HEX * 4, HEX * 4 + ":1", HEX * 4 + "@" + SHA256,
    "a" * 513, "docker.io/" + "a" * 503, "nginx@" + SHA256 + ":1", "ngïnx", "registry.example.com/ngïnx",
    "\u212aeep/x", "K.io/x", "localhost", "localhost:5000", "docker.io", "index.docker.io/library",
    "Docker.io/library", "docker.io/library",
]  # fmt: skip


@pytest.mark.parametrize("host", HOSTS)
def test_reference_readings_agree_on_every_host_path_tag_and_digest(host: str) -> None:
    for path in PATHS:
        for suffix in TAGS + DIGESTS + [":1@" + SHA256, ":latest@" + SHA256]:
            image = f"{host}/{path}{suffix}" if host else f"{path}{suffix}"
            assert cel_reading(image) == podgate_reading(image), image


def test_reference_readings_agree_on_special_cases() -> None:
    for image in SPECIAL:
        assert cel_reading(image) == podgate_reading(image), repr(image)
    # The cases the brief names, as podgate reads them:
    assert cel_reading("nginx") == (True, "docker.io", "library/nginx", None, False)
    assert cel_reading("Docker.io/nginx") == (True, "docker.io", "nginx", None, False)  # not library/
    assert cel_reading("registry:5000/x:1") == (True, "registry:5000", "x", "1", False)
    assert cel_reading("registry.example.com.evil.io/x")[1] == "registry.example.com.evil.io"  # type: ignore[index]
    assert cel_reading("x@sha256:" + HEX.upper() * 4) is None


REFERENCE_CHARS = "ab0.-_:/@[]A"


@settings(max_examples=1500, deadline=None)
@given(
    st.one_of(
        st.text(alphabet=REFERENCE_CHARS, max_size=14),
        st.builds(
            lambda h, p, t, d: f"{h}/{p}{t}{d}",
            st.sampled_from(HOSTS),
            st.text(alphabet="ab/._-A", min_size=1, max_size=10),
            st.sampled_from(TAGS),
            st.sampled_from(DIGESTS),
        ),
    )
)
def test_reference_readings_agree_on_generated_references(image: str) -> None:
    assert cel_reading(image) == podgate_reading(image), repr(image)


def image_pod(*images: Any, init: Any = None, ephemeral: Any = None) -> dict[str, Any]:
    obj = pod()
    obj["spec"] = {"containers": [{"name": f"c{i}", **({} if x == "absent" else {"image": x})}
                                  for i, x in enumerate(images)]}  # fmt: skip
    if init is not None:
        obj["spec"]["initContainers"] = [{"name": "init", "image": init}]
    if ephemeral is not None:
        obj["spec"]["ephemeralContainers"] = [{"name": "debug", "image": ephemeral}]
    return obj


IMAGES = [
    "nginx", "nginx:1.27", "nginx:latest", "nginx@" + SHA256, "nginx:latest@" + SHA256, "library/nginx:1",
    "docker.io/nginx:1", "Docker.io/nginx:1", "index.docker.io/library/nginx:1", "acme/web:1",
    "docker.io/acme/web:1", "registry.example.com/shop/web:1", "REGISTRY.example.com/shop/web:1",
    "registry.example.com.evil.io/shop/web:1", "evil.io/registry.example.com/x:1",
    "registry.example.com:5000/shop/web:1", "registry:5000/team/x:2", "registry:5000/team-x/y:2",
    "registry:5000/teamx:2", "localhost/x:1", "LOCALHOST/x:1", "localhost:5000/x:1", "ghcr.io/acme/x:1",
    "ghcr.io/acme-evil/x:1", "ghcr.io/acme:1", "[::1]:5000/x:1", "registry.example.com/x@sha256:" + "A" * 64,
    "registry.example.com/Shop:1", "", "absent", None, HEX * 4,
]  # fmt: skip

REGISTRY_PARAMS = [
    "{registries: [registry.example.com, registry.k8s.io, docker.io/library], forbidLatest: true}",
    "{registries: [docker.io]}",
    "{registries: [Docker.io/library/]}",
    "{registries: [index.docker.io/acme]}",
    "{registries: [docker.io/library/nginx]}",
    "{registries: ['registry:5000/team', localhost, 'ghcr.io/acme'], requireDigest: true}",
    "{registries: ['LOCALHOST:5000', '[::1]:5000'], forbidLatest: true, requireDigest: true}",
    "{registries: [registry.example.com/shop/], requireDigest: false, forbidLatest: true}",
]


@pytest.mark.parametrize("params", REGISTRY_PARAMS)
def test_trusted_registries_agrees_on_pods_with_every_parameter(params: str) -> None:
    objects = [image_pod(image) for image in IMAGES]
    objects += [image_pod("registry.example.com/a:1", init=image) for image in IMAGES[:12]]
    objects += [image_pod("registry.example.com/a:1", ephemeral=image) for image in IMAGES[:12]]
    objects += [image_pod(a, b) for a, b in zip(IMAGES, reversed(IMAGES), strict=True)]
    agree(f"    - check: trusted-registries\n      params: {params}\n", objects)


def test_a_malformed_digest_is_an_invalid_reference_not_an_error() -> None:
    ours, _, _ = both("    - check: trusted-registries\n      params: {registries: [registry.example.com]}\n")
    request = Request(object=image_pod("registry.example.com/x@sha256:" + "A" * 64), namespace="default")
    decision = evaluate(ours, request)
    assert not decision.allowed
    assert "invalid image reference" in decision.violations[0].message, decision.violations


# --- quantities ------------------------------------------------------------------------------------

SUFFIXES = ["", "n", "u", "m", "k", "M", "G", "T", "P", "E", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei",
            "e3", "E3", "e-3", "e+2", "e0", "E-9", "e1000", "e-1000", "e1001", "e01000", "e0001001"]  # fmt: skip
NUMBERS = ["1", "0", "2", "1.5", ".5", "5.", "+1", "-1", "0.000000001", "4096", "007", "1.0000000000001"]
GOOD_TEXT = [n + s for n in NUMBERS for s in SUFFIXES]
BAD_TEXT = ["", " 1", "1 ", "1.5.5", "Mi", "1mi", "1KI", "1e", "1e+", "e3", "1_000", "NaN", "inf", "0x10",
            "1" * 65, "1" * 64, "\uff11", "1e3Mi", "1Mi1", "--1", "1.5e3.0", "ten"]  # fmt: skip
NUMBER_VALUES: list[Any] = [
    0,
    1,
    2,
    16,
    17,
    -1,
    2**40,
    0.5,
    1.5,
    1e-7,
    1e16,
    0.1,
    2.0,
    float("inf"),
    float("nan"),
]


def test_quantity_validity_and_values_agree_with_parse_quantity() -> None:
    env = admission_env()
    is_valid = env.compile(valid("object"))
    value = env.compile(f"{as_quantity('object')}.compareTo(quantity(params))")
    for raw in GOOD_TEXT + BAD_TEXT + NUMBER_VALUES:
        try:
            expected: Any = parse_quantity(raw)
        except ValueError:
            expected = None
        got = is_valid.eval(env.Activation({"object": raw})).plain_value()
        assert got == (expected is not None), raw
        if expected is not None:
            # Equal to its own exact decimal text, in CEL's quantity arithmetic.
            text = format(expected, "f")
            if len(text) <= 64:  # longer texts are refused as quantities (as by the checks)
                compared = value.eval(env.Activation({"object": raw, "params": text})).plain_value()
                assert compared == 0, (raw, text)


@pytest.mark.parametrize(("text", "value"), [("1E", "1000000000000000000"), ("1Ei", "1152921504606846976")])
def test_cel_library_reads_the_exa_suffixes(text: str, value: str) -> None:
    env = admission_env()
    program = env.compile(f"quantity('{text}').compareTo(quantity('{value}'))")
    assert program.eval(env.Activation({})).plain_value() == 0


def resources_pod(
    containers: list[Any], init: list[Any] | None = None, pod_level: Any = "absent", ephemeral: bool = False
) -> dict[str, Any]:
    obj = pod()
    spec: dict[str, Any] = {
        "containers": [
            {"name": f"c{i}", "image": "x:1", **({} if r == "absent" else {"resources": r})}
            for i, r in enumerate(containers)
        ]
    }
    if init is not None:
        spec["initContainers"] = [
            {"name": f"i{i}", "image": "x:1", "resources": r} for i, r in enumerate(init)
        ]
    if pod_level != "absent":
        spec["resources"] = pod_level
    if ephemeral:
        spec["ephemeralContainers"] = [{"name": "debug", "image": "x:1"}]
    obj["spec"] = spec
    return obj


def full(cpu: Any = "500m", memory: Any = "256Mi", lcpu: Any = "1", lmemory: Any = "512Mi") -> dict[str, Any]:
    return {"requests": {"cpu": cpu, "memory": memory}, "limits": {"cpu": lcpu, "memory": lmemory}}


RESOURCE_PARAMS = [
    "{}",
    "{requests: [cpu, memory], limits: [cpu, memory], maxLimits: {cpu: '16', memory: 64Gi},"
    " maxLimitRequestRatio: {memory: '4'}}",
    "{limitsImplyRequests: false, requests: [cpu, memory, ephemeral-storage], limits: []}",
    "{requests: [], limits: [memory], minRequests: {cpu: 100m, memory: 1e6}, maxRequests: {cpu: 2, memory: 1.5Gi},"
    " minLimits: {cpu: 0.25, memory: 128M}, maxLimits: {cpu: 4000m, memory: 8G, ephemeral-storage: 1Ti}}",
    "{requests: [], limits: [], maxLimitRequestRatio: {cpu: '1.5', memory: 1, ephemeral-storage: 1500m}}",
    "{requests: [], limits: [], limitsImplyRequests: false, maxLimitRequestRatio: {cpu: 3, memory: 1.25}}",
    "{requests: [cpu], limits: [cpu], maxLimits: {cpu: 9Ei}, minLimits: {cpu: 1n}, minRequests: {memory: 0}}",
]
# (No `E`/`Ei` values: podgate's CEL library misreads them, see test_cel_library_reads_the_exa_suffixes.)
QUANTITIES: list[Any] = [
    "1", "2", "1500m", "1.5", "0", "0.0", "-1", "3", "4", "6", "16", "16.000000001", "17", "100m", "250m",
    "0.25", "2.5e-1", "1e6", "999999", "1Mi", "64Gi", "65Gi", "68719476736", "68719476737", "1.5Gi",
    "1610612736", "128M", "127999999", "1Ti", "1.0001Ti", "4096Mi", "4Gi", "1e3", "1E3", "1k", "1Ki", "8e18",
    "1e19", "1n", "0.000000001", "1u", "bad", "1e1001", None, 2, 0.5, 16, 1.5, 2**40,
]  # fmt: skip


@st.composite
def resource_maps(draw: Any) -> Any:
    kind = draw(st.sampled_from(["absent", "null", "empty", "map"]))
    if kind == "absent":
        return "absent"
    if kind == "null":
        return None
    out: dict[str, Any] = {}
    for part in ("requests", "limits"):
        if draw(st.booleans()):
            values = draw(
                st.dictionaries(
                    st.sampled_from(["cpu", "memory", "ephemeral-storage", "nvidia.com/gpu"]),
                    st.sampled_from(QUANTITIES),
                    max_size=3,
                )
            )
            out[part] = values if values or draw(st.booleans()) else None
    return out if kind == "map" else {}


@st.composite
def resource_pods(draw: Any) -> dict[str, Any]:
    containers = draw(st.lists(resource_maps(), min_size=1, max_size=2))
    init = draw(st.one_of(st.none(), st.lists(resource_maps().filter(lambda r: r != "absent"), max_size=1)))
    pod_level = draw(st.one_of(st.just("absent"), resource_maps().filter(lambda r: r != "absent")))
    return resources_pod(containers, init, pod_level, ephemeral=draw(st.booleans()))


@pytest.mark.parametrize("params", RESOURCE_PARAMS, ids=[f"params{i}" for i in range(len(RESOURCE_PARAMS))])
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(obj=resource_pods())
def test_resource_limits_agrees_on_generated_pods(params: str, obj: dict[str, Any]) -> None:
    agree(f"    - check: resource-limits\n      params: {params}\n", [obj])


def test_resource_limits_agrees_on_crafted_pods() -> None:
    objects = [
        resources_pod([full()]),
        resources_pod([full(lmemory="1Gi")]),  # ratio 4 exactly: allowed
        resources_pod([full(lmemory="1073741825")]),  # 1 byte above 4x: exceeded
        resources_pod([full(memory="0", lmemory="1")]),  # zero request: any positive limit exceeds
        resources_pod([full(memory="0", lmemory="0")]),
        resources_pod([full(memory="-1", lmemory="-5")]),  # -5/-1 = 5 > 4
        resources_pod([full(memory="-2", lmemory="-5")]),  # 2.5
        resources_pod([{"limits": {"cpu": "2", "memory": "1Gi"}}]),  # requests implied by limits
        resources_pod([{"limits": {"cpu": "2", "memory": "bad"}}]),
        resources_pod([{"requests": {"cpu": "1", "memory": "1Gi"}}], pod_level={"limits": {"cpu": "2", "memory": "2Gi"}}),
        resources_pod(["absent"], pod_level={"requests": {"cpu": "1"}, "limits": {"memory": None}}),
        resources_pod(["absent"], pod_level={"limits": {"cpu": "1", "memory": "1Gi"}}),
        resources_pod([full(lcpu="16")]), resources_pod([full(lcpu="16001m")]), resources_pod([full(lcpu=17)]),
        resources_pod([full(lmemory="64Gi", memory="16Gi")]), resources_pod([full(lmemory="65Gi", memory="64Gi")]),
        resources_pod([full()], init=[{"limits": {"cpu": "1"}}]),
        resources_pod([full()], ephemeral=True),
        resources_pod([full(cpu=0.5, lcpu=1.5)]), resources_pod([full(cpu=float("inf"))]),
    ]  # fmt: skip
    for params in RESOURCE_PARAMS:
        agree(f"    - check: resource-limits\n      params: {params}\n", objects)


def test_a_null_container_fails_only_its_own_judgement() -> None:
    # Its requests and limits cannot be read: each validation is an error for it, as each of its own
    # judgements was, unless another container already fails it. So under failurePolicy Ignore the
    # pod is still denied for the others, as podgate denies it. (A container or resources that is not
    # a map is refused as malformed input before any policy.)
    text = (
        POLICY
        + "  failurePolicy: Ignore\n  rules:\n    - check: resource-limits\n      params: {requests: [cpu], limits: []}\n"
    )
    ours = load_policy_text(text, "p.yaml")
    native = load_policy_text(
        yaml.safe_dump_all(export_documents([PolicyDocument.model_validate(yaml.safe_load(text))]).documents),
        "exported.yaml",
    )
    obj = resources_pod([{"requests": {"memory": "bad"}}])  # invalid, and no cpu request
    obj["spec"]["containers"].insert(0, None)
    assert decide(native, obj) == decide(ours, obj) == (False, 0)


def test_ratios_are_exact() -> None:
    # Python's Decimal division rounds at 28 digits: 4/3 would equal 1.333333333333333333333333333.
    assert _ratio_exceeded(
        parse_quantity("4"), parse_quantity("3"), parse_quantity("1.333333333333333333333333333")
    )
    assert not _ratio_exceeded(
        parse_quantity("4"), parse_quantity("3"), parse_quantity("1.3333333333333333333333333334")
    )
    # In CEL, by doubling: limit = ratio * request exactly is allowed, one nano-unit more is not.
    rule = "    - check: resource-limits\n      params: {requests: [], limits: [], maxLimitRequestRatio: {cpu: '%s'}}\n"
    for ratio, request, limit, allowed in [
        ("1.5", "2", "3", True), ("1.5", "2", "3000000001n", False), ("1.5", "2", "2999999999n", True),
        ("3.25", "7", "22.75", True), ("3.25", "7", "22750000001n", False), ("1", "1", "1000000001n", False),
        ("4095", "1m", "4095m", True), ("4095", "1m", "4095000001n", False),
        ("2.999", "1000", "2999", True), ("2.999", "1000", "2999.000000001", False), ("1500m", "1Ki", "1536", True),
        ("1500m", "1Ki", "1537", False), ("1.1", "0.000000001", "0.000000001", True),
    ]:  # fmt: skip
        obj = resources_pod([{"requests": {"cpu": request}, "limits": {"cpu": limit}}])
        ours, native, _ = both(rule % ratio)
        assert native is not None
        assert decide(ours, obj) == decide(native, obj) == (allowed, 0), (ratio, request, limit)


def test_parameters_without_an_exact_translation_are_reported() -> None:
    _, native, left_out = both("    - check: resource-limits\n      params: {maxRequests: {cpu: 1e-10}}\n")
    assert native is None
    assert any(x.startswith("p/resource-limits: bound cpu 1e-10 is finer than 1n") for x in left_out), (
        left_out
    )
    _, native, left_out = both(
        "    - check: resource-limits\n      params: {maxLimitRequestRatio: {memory: '1.333333333333333333'}}\n"
    )
    assert native is None
    assert any("maxLimitRequestRatio.memory 1.333333333333333333 is the fraction" in x for x in left_out)


def test_a_binary_bound_above_int64_is_written_in_decimal() -> None:
    # quantity('9Ei') would be capped at 2^63-1 by the API server: the export writes the exact value.
    rule = "    - check: resource-limits\n      params: {maxLimits: {cpu: 9Ei}}\n"
    result = export_documents([PolicyDocument.model_validate(yaml.safe_load(HEADER + rule))])
    expressions = " ".join(v["expression"] for v in result.documents[0]["spec"]["validations"])
    assert 'quantity("10376293541461622784")' in expressions and "9Ei" not in expressions


def test_the_finest_translated_ratio_loads_beside_other_rules() -> None:
    # 1.02375 = 4095/4000: both at the limit. The products nest one bind per step, and podgate's
    # runtime binds every variable of the policy around them (here three more, for trusted-registries).
    rule = (
        "    - check: resource-limits\n"
        "      params: {requests: [], limits: [], maxLimitRequestRatio: {cpu: '1.02375', memory: 4095}}\n"
        "    - check: trusted-registries\n      params: {registries: [registry.example.com]}\n"
        "    - check: no-root\n"
    )
    objects = []
    for limit in ("1.02375", "1023750001n", "4095Mi", "4096Mi"):
        obj = resources_pod(
            [{"requests": {"cpu": "1", "memory": "1Mi"}, "limits": {"cpu": limit, "memory": limit}}]
        )
        obj["spec"]["securityContext"] = {"runAsNonRoot": True}
        obj["spec"]["containers"][0]["image"] = "registry.example.com/x:1"
        objects.append(obj)
    agree(rule, objects)
    ours, _, _ = both(rule)
    assert [decide(ours, obj)[0] for obj in objects] == [True, False, False, False]
