"""The names the shipped manifests use, in one place (manifests/, the generator and the doctor agree)."""

from __future__ import annotations

from typing import Final

NAMESPACE: Final = "podgate-system"
SERVICE: Final = "podgate"
TLS_SECRET: Final = "podgate-tls"
POLICIES_CONFIGMAP: Final = "podgate-policies"
VALIDATING_WEBHOOK: Final = "validate.podgate.io"
MUTATING_WEBHOOK: Final = "mutate.podgate.io"
# The access policies' webhooks (docs/incident-response.md), in the ValidatingWebhookConfiguration after
# VALIDATING_WEBHOOK, in this order (the enforce overlay patches them by index).
HOLDS_WEBHOOK: Final = "holds.incident.podgate.io"
SESSIONS_WEBHOOK: Final = "sessions.incident.podgate.io"
VALIDATE_PATH: Final = "/validate"
MUTATE_PATH: Final = "/mutate"
PART_OF_LABEL: Final = {"app.kubernetes.io/part-of": "podgate"}

# Namespaces the webhooks never see: the control plane's, node heartbeats, and podgate's own (a webhook
# that judges its own Pods cannot start again once it is down: the classic lockout).
NAMESPACE_LABEL: Final = "kubernetes.io/metadata.name"
ALWAYS_EXCLUDED: Final = ("kube-system", "kube-node-lease")

# Default API-server wait for one call; the doctor refuses anything over the hard ceiling.
TIMEOUT_SECONDS: Final = 5
MAX_SAFE_TIMEOUT_SECONDS: Final = 10
