"""The shared CEL shapes of translators/_cel.py spell exactly what the translators wrote out by hand
before (tests/test_vap_export.py proves the translations decide as the checks; this pins the text)."""

from __future__ import annotations

from webhook.policy.registry import CHECKS
from webhook.policy.vap.translators import translate
from webhook.policy.vap.translators._cel import (
    OWN_USER_NAMESPACE,
    every_item,
    list_at,
    unless_own_user_namespace,
)

POD_SC = "variables.podSpec.securityContext"
OWN_USERS = (
    "(has(variables.podSpec.hostUsers) && variables.podSpec.hostUsers != null"
    " && variables.podSpec.hostUsers == false)"
)


def expressions(check_id: str) -> list[str]:
    return [v["expression"] for v in translate(check_id, CHECKS[check_id].params()).validations]


def test_every_item_is_the_list_or_nothing_then_all() -> None:
    assert every_item("c.ports", "p", "p.hostPort == 0") == f"{list_at('c.ports')}.all(p, p.hostPort == 0)"
    assert expressions("pss-volume-types") == [
        "(has(variables.podSpec.volumes) && variables.podSpec.volumes != null ? variables.podSpec.volumes : [])"
        '.all(v, v.exists(k, k in ["configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "image",'
        ' "persistentVolumeClaim", "projected", "secret"] && v[k] != null))'
    ]
    (sysctls,) = expressions("pss-sysctls")
    assert sysctls.startswith(
        f"(has({POD_SC}) && {POD_SC} != null && has({POD_SC}.sysctls) && {POD_SC}.sysctls != null"
        f" ? {POD_SC}.sysctls : []).all(s, has(s.name) && s.name != null && s.name in"
        ' ["kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", '
    )


def test_run_as_root_controls_are_the_pod_then_every_container_unless_own_user_namespace() -> None:
    assert OWN_USER_NAMESPACE == OWN_USERS
    assert unless_own_user_namespace(pod="P", pod_message="p", containers="C", containers_message="c") == [
        {"expression": f"{OWN_USERS} || P", "message": "p"},
        {"expression": f"{OWN_USERS} || variables.allContainers.all(c, C)", "message": "c"},
    ]
    assert expressions("pss-run-as-user") == [
        f"{OWN_USERS} || !(has({POD_SC}) && {POD_SC} != null && has({POD_SC}.runAsUser)"
        f" && {POD_SC}.runAsUser != null && {POD_SC}.runAsUser == 0)",
        f"{OWN_USERS} || variables.allContainers.all(c, !(has(c.securityContext) && c.securityContext != null"
        " && has(c.securityContext.runAsUser) && c.securityContext.runAsUser != null"
        " && c.securityContext.runAsUser == 0))",
    ]
    pod_non_root = f"{POD_SC}.runAsNonRoot"
    pod_set = f"has({POD_SC}) && {POD_SC} != null && has({pod_non_root}) && {pod_non_root} != null"
    own = "c.securityContext.runAsNonRoot"
    own_set = f"has(c.securityContext) && c.securityContext != null && has({own}) && {own} != null"
    assert expressions("pss-run-as-non-root") == [
        f"{OWN_USERS} || !({pod_set} && {pod_non_root} == false)",
        f"{OWN_USERS} || variables.allContainers.all(c, ({own_set}) ? !({own} == false)"
        f" : ({pod_set} && {pod_non_root} == true))",
    ]
