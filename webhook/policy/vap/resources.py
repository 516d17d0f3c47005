"""Pod-bearing kinds as the exported policies name them: (group, resource) -> kind, and CEL pod paths."""

from __future__ import annotations

from typing import Final

from ..podspec import KIND_RESOURCES

RESOURCE_KINDS: Final = {(group, resource): kind for kind, (group, _, resource) in KIND_RESOURCES.items()}

# Where the pod spec sits in each kind, in CEL: the exported counterpart of podspec.pod_view, bound to
# `variables.podSpec` so that expression rules read the same in podgate and in the API server.
POD_SPEC_CEL: Final = (
    "object.kind == 'Pod' ? object.spec"
    " : object.kind == 'PodTemplate' ? object.template.spec"
    " : object.kind == 'CronJob' ? object.spec.jobTemplate.spec.template.spec"
    " : object.spec.template.spec"
)
POD_METADATA_CEL: Final = (
    "object.kind == 'Pod' ? object.metadata"
    " : object.kind == 'PodTemplate' ? (has(object.template.metadata) ? object.template.metadata : {})"
    " : object.kind == 'CronJob' ? (has(object.spec.jobTemplate.spec.template.metadata)"
    " ? object.spec.jobTemplate.spec.template.metadata : {})"
    " : (has(object.spec.template.metadata) ? object.spec.template.metadata : {})"
)
