"""Is a Pod update significant to Pod Security Admission? (policies with `podSecurityUpdates: true`)

PSA judges a Pod UPDATE (including `pods/ephemeralcontainers`) only when it could change the pod's
security: a container or init container added or removed, an image changed, an ephemeral container
added, or a per-container seccomp annotation changed. Anything else (labels, annotations, tolerations,
activeDeadlineSeconds) is allowed without judging, even when the pod already violates the policy; a
significant update is judged in full. This mirrors `isSignificantPodUpdate` of the reference.
"""

from __future__ import annotations

from .podspec import ContainerView, PodView

SECCOMP_CONTAINER_ANNOTATION = "container.seccomp.security.alpha.kubernetes.io/"


def significant_pod_update(new: PodView, old: PodView) -> bool:
    for field in ("containers", "initContainers"):
        now = [c for c in new.containers if c.field == field]
        before = [c for c in old.containers if c.field == field]
        if len(now) != len(before):
            return True
        if any(_significant(c, o, new, old) for c, o in zip(now, before, strict=True)):
            return True
    old_ephemeral: dict[str, ContainerView] = {}
    for o in old.containers:
        if o.field == "ephemeralContainers":
            old_ephemeral.setdefault(o.name, o)  # the first of a name, as the reference's loop finds it
    for c in new.containers:
        if c.field == "ephemeralContainers":
            previous = old_ephemeral.get(c.name)
            if previous is None or _significant(c, previous, new, old):
                return True
    return False


def _significant(c: ContainerView, o: ContainerView, new: PodView, old: PodView) -> bool:
    if c.image != o.image:
        return True
    key = SECCOMP_CONTAINER_ANNOTATION + c.name
    return bool(new.annotations.get(key, "") != old.annotations.get(key, ""))
