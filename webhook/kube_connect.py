"""How every command reaches the API server: one precedence, kubectl's, with the default namespace.

1. `--kubeconfig FILE` and/or `--context NAME`: that kubeconfig (or the default one with that context);
   a failure is an error, never a silent fall-back to something else.
2. `$KUBECONFIG` (paths joined by `:`, missing ones skipped) or `~/.kube/config`, when one of them exists.
3. In-cluster: the pod's service account (`KUBERNETES_SERVICE_HOST`/`_PORT`, its token and CA).

`in_cluster=True` (`podgate audit --in-cluster`) asks for the service account alone;
`in_cluster_fallback=False` for 1 and 2 alone. The default namespace is the kubeconfig context's, or the
service account's (`<dir>/namespace`), else "default", as kubectl does. `podgate serve` asks for the
service account first, then for a kubeconfig without the fall-back, so each is tried once
(`namespaces.api_client`): a webhook runs in its pod, as docs/webhook.md says.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

SERVICE_ACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")
DEFAULT_NAMESPACE = "default"


class KubeConfigError(Exception):
    """No configuration to reach the API server: the message names what was tried and why it failed."""


class Connection(NamedTuple):
    api_client: Any  # kubernetes.client.ApiClient
    namespace: str  # where namespaced commands act when no --namespace is given


def api_client(
    *,
    kubeconfig: str | None = None,
    context: str | None = None,
    in_cluster: bool = False,
    in_cluster_fallback: bool = True,
    service_account_dir: Path | None = None,
    environ: Mapping[str, str] = os.environ,
) -> Connection:
    """The client and default namespace, from the first configuration that applies (module docstring).

    `in_cluster_fallback=False`: without a kubeconfig, fail rather than try the service account (for a
    caller that tried it already).
    """
    service_account_dir = service_account_dir or SERVICE_ACCOUNT_DIR
    if in_cluster:
        if kubeconfig or context:
            raise KubeConfigError("give either the in-cluster service account or --kubeconfig/--context")
        return _in_cluster(service_account_dir, environ)
    if kubeconfig:
        return _from_kubeconfig(kubeconfig, context)
    paths = environ.get("KUBECONFIG") or str(Path(environ.get("HOME") or Path.home(), ".kube", "config"))
    if context or any(p and Path(p).expanduser().is_file() for p in paths.split(os.pathsep)):
        return _from_kubeconfig(paths, context)
    where = f"$KUBECONFIG ({paths})" if environ.get("KUBECONFIG") else paths
    if not in_cluster_fallback:
        raise KubeConfigError(f"no kubeconfig ({where}: no such file)")
    try:
        return _in_cluster(service_account_dir, environ)
    except KubeConfigError as exc:
        raise KubeConfigError(f"no kubeconfig ({where}: no such file) and {exc}") from None


def _from_kubeconfig(paths: str, context: str | None) -> Connection:
    import yaml
    from kubernetes import client
    from kubernetes.config import kube_config

    config: Any = kube_config  # its loaders are untyped
    configuration = client.Configuration()
    try:
        merged = config.KubeConfigMerger(paths)
        if merged.config is None:
            raise config.ConfigException("no such file")
        loader = config.KubeConfigLoader(
            config_dict=merged.config, active_context=context, config_base_path=None
        )
        loader.load_and_set(configuration)
        namespace = (loader.current_context.get("context") or {}).get("namespace")
    # The client reports a malformed file with whatever its parsing raised on the way.
    except (config.ConfigException, OSError, yaml.YAMLError, ValueError, TypeError, AttributeError) as exc:
        which = f" (context {context})" if context else ""
        reason = " ".join(str(exc).split())  # YAML errors span lines
        raise KubeConfigError(f"cannot load the kubeconfig {paths}{which}: {reason}") from None
    return Connection(client.ApiClient(configuration), namespace or DEFAULT_NAMESPACE)


def _in_cluster(service_account_dir: Path, environ: Mapping[str, str]) -> Connection:
    from kubernetes import client
    from kubernetes.config import incluster_config

    config: Any = incluster_config  # untyped
    configuration = client.Configuration()
    try:
        config.InClusterConfigLoader(
            token_filename=str(service_account_dir / "token"),
            cert_filename=str(service_account_dir / "ca.crt"),
            environ=environ,
        ).load_and_set(configuration)
    except (config.ConfigException, OSError) as exc:
        raise KubeConfigError(f"no in-cluster service account ({service_account_dir}): {exc}") from None
    try:
        namespace = (service_account_dir / "namespace").read_text().strip()
    except OSError:  # projected with the token since Kubernetes 1.0, but not required to reach the API
        namespace = ""
    return Connection(client.ApiClient(configuration), namespace or DEFAULT_NAMESPACE)
