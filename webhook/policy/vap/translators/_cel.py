"""CEL building blocks shared by the translators, null-safe as the checks are.

The checks treat an absent field and an explicit null alike (`c.get("securityContext") or {}`); in CEL a
null field is present (`has()` is true) and selecting into it is an error, so every optional step is
guarded with `!= null`.
"""

from __future__ import annotations

POD = "variables.podSpec"


def present(path: str) -> str:
    """`path` (a CEL selection like `c.securityContext.runAsUser`) is set and not null."""
    parts = path.split(".")
    steps = []
    for i in range(1, len(parts)):
        prefix = ".".join(parts[: i + 1])
        if prefix == POD:  # always set: the export defines it
            continue
        steps.append(f"has({prefix}) && {prefix} != null")
    return " && ".join(steps)


def list_at(path: str) -> str:
    """The list at `path`, or [] when it is absent or null."""
    return f"({present(path)} ? {path} : [])"


# Init, regular and ephemeral containers, as podspec.PodView.containers walks them.
ALL_CONTAINERS = {
    "name": "allContainers",
    "expression": " + ".join(
        list_at(f"{POD}.{f}") for f in ("initContainers", "containers", "ephemeralContainers")
    ),
}


def field_is(path: str, value: str) -> str:
    """`path` is set and equals the CEL literal `value` (absent and null never do)."""
    return f"({present(path)} && {path} == {value})"


# `spec.hostUsers: false`, the pod in its own user namespace (checks/_pss.own_user_namespace): exempt
# from the run-as-root controls and the baseline /proc mount control.
OWN_USER_NAMESPACE = field_is(f"{POD}.hostUsers", "false")


def non_empty(path: str) -> str:
    """`path` is set to a non-empty string (the checks' truthiness test on string fields)."""
    return f"({present(path)} && {path} != '')"


def unless_own_user_namespace(
    *, pod: str, pod_message: str, containers: str, containers_message: str
) -> list[dict[str, str]]:
    """A run-as-root control as two validations, the pod's own setting then every container's: `pod`
    must hold, and `containers` (on `c`, needs ALL_CONTAINERS) for each container, unless the pod runs
    in its own user namespace."""
    return [
        {"expression": f"{OWN_USER_NAMESPACE} || {pod}", "message": pod_message},
        {
            "expression": f"{OWN_USER_NAMESPACE} || variables.allContainers.all(c, {containers})",
            "message": containers_message,
        },
    ]


def every_item(path: str, item: str, condition: str) -> str:
    """`condition` (on `item`) holds for each item of the list at `path`; an absent or null list has none."""
    return f"{list_at(path)}.all({item}, {condition})"


# No volume mounts a path of the node: pss-host-path-volumes, and no-privileged, which forbids it too.
NO_HOST_PATH_VOLUMES = every_item(f"{POD}.volumes", "v", f"!({present('v.hostPath')})")
