"""`podgate certs generate|renew|rotate|check`: the webhook's TLS material under certs/.

podgate certs generate --service podgate --namespace podgate-system   # CA + serving certificate
podgate certs renew                                                   # new serving cert, same CA
podgate certs rotate begin|switch|finish                              # new CA, without an outage
podgate certs check [--manifests manifests/overlays/enforce] [--endpoint HOST:PORT]
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from .errors import ExitCode, UsageError


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "certs",
        help="generate, renew, rotate and check the webhook's certificates",
        description="The webhook's CA and serving certificate, written under certs/ (kept out of git).",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    def common(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--out", default="certs", metavar="DIR", help="certificate directory (certs)")

    def service(sub: argparse.ArgumentParser, *, required: bool) -> None:
        sub.add_argument(
            "--service", default=None if not required else "podgate", help="Service name (podgate)"
        )
        sub.add_argument(
            "--namespace", default=None if not required else "podgate-system", help="its namespace"
        )

    gen = actions.add_parser("generate", help="a new CA and serving certificate; prints the caBundle")
    common(gen)
    service(gen, required=True)
    gen.add_argument("--days", type=int, default=365, help="serving certificate validity (365)")
    gen.add_argument("--ca-days", type=int, default=3650, help="CA validity (3650)")
    gen.add_argument(
        "--force", action="store_true", help="replace an existing CA (breaks the webhooks until applied)"
    )

    ren = actions.add_parser("renew", help="a new serving certificate from the current CA (same names)")
    common(ren)
    service(ren, required=False)
    ren.add_argument("--days", type=int, default=None, help="validity (default: as the current one)")

    rot = actions.add_parser("rotate", help="replace the CA in three applied steps, without an outage")
    common(rot)
    rot.add_argument("step", choices=["begin", "switch", "finish", "status"])
    rot.add_argument("--ca-days", type=int, default=3650, help="validity of the new CA (3650)")

    chk = actions.add_parser(
        "check", help="chain, names, key pairs, expiry, caBundle drift, served certificate"
    )
    common(chk)
    service(chk, required=True)
    chk.add_argument("--warn-days", type=int, default=30, help="warn when fewer days are left (30)")
    chk.add_argument(
        "--manifests",
        nargs="+",
        default=[],
        metavar="PATH",
        help="rendered manifests, a kustomize directory or - : their caBundles must trust tls.crt",
    )
    chk.add_argument("--endpoint", metavar="HOST:PORT", help="also check the certificate a server serves")
    chk.add_argument(
        "--server-name", help="the name to verify at --endpoint (default: SERVICE.NAMESPACE.svc)"
    )
    parser.set_defaults(run=run, command="certs")


def run(args: argparse.Namespace) -> int:
    from ..deploy.certificates import CertificateError
    from ..deploy.objects import ManifestError

    try:
        return int(_ACTIONS[args.action](args))
    except (CertificateError, ManifestError) as exc:
        raise UsageError(str(exc)) from None


def _generate(args: argparse.Namespace) -> int:
    from ..deploy.certificates import generate

    bundle = generate(
        Path(args.out),
        service=args.service,
        namespace=args.namespace,
        days=args.days,
        ca_days=args.ca_days,
        force=args.force,
    )
    print(
        f"wrote ca.crt ca.key tls.crt tls.key ca-bundle.crt in {args.out}/ "
        f"for {args.service}.{args.namespace}.svc"
    )
    print(f"caBundle: {bundle}")
    return ExitCode.OK


def _renew(args: argparse.Namespace) -> int:
    from ..certs import service_dns_names
    from ..deploy.certificates import renew

    if (args.service is None) != (args.namespace is None):
        raise UsageError("give both --service and --namespace, or neither (keep the current names)")
    dns_names = service_dns_names(args.service, args.namespace) if args.service else None
    cert = renew(Path(args.out), days=args.days, dns_names=dns_names)
    print(
        f"wrote {args.out}/tls.crt and tls.key, valid until {cert.not_valid_after_utc:%Y-%m-%d}; the CA is "
        "unchanged, so apply the overlay: the server picks the new certificate up without a restart"
    )
    return ExitCode.OK


def _rotate(args: argparse.Namespace) -> int:
    from ..deploy.certificates import rotate, rotation_state

    if args.step == "status":
        print(f"rotation: {rotation_state(Path(args.out))}")
        return ExitCode.OK
    print(rotate(Path(args.out), args.step, ca_days=args.ca_days))
    return ExitCode.OK


def _check(args: argparse.Namespace) -> int:
    from ..certs import service_dns_names
    from ..deploy.certificates import (
        CA_BUNDLE,
        CertificateError,
        Finding,
        check_directory,
        fetch_served_certificate,
        load_cert,
        load_certs,
        serving_findings,
    )
    from ..deploy.objects import read_objects

    out = Path(args.out)
    dns_names = service_dns_names(args.service, args.namespace)
    objects = [o.body for o in read_objects(args.manifests)] if args.manifests else []
    findings = check_directory(out, dns_names=dns_names, warn_days=args.warn_days, manifests=objects)
    if args.manifests and not any("caBundle" in f.message for f in findings):
        findings.append(Finding("error", "the manifests hold no webhook configuration to check"))
    if args.endpoint:
        host, _, port = args.endpoint.rpartition(":")
        if not host or not port.isdigit():
            raise UsageError(f"--endpoint {args.endpoint!r}: expected HOST:PORT")
        server_name = args.server_name or f"{args.service}.{args.namespace}.svc"
        try:
            served = fetch_served_certificate(
                host.strip("[]"), int(port), server_name=server_name, ca_bundle_file=out / CA_BUNDLE
            )
        except CertificateError as exc:
            findings.append(Finding("error", f"endpoint: {exc}"))
        else:
            findings.append(Finding("ok", f"endpoint {args.endpoint} verified as {server_name}"))
            findings += [
                Finding(f.level, f"endpoint: {f.message}")
                for f in serving_findings(served, load_certs(out / CA_BUNDLE), dns_names, args.warn_days)
            ]
            if served != load_cert(out / "tls.crt"):
                findings.append(
                    Finding("warning", "endpoint serves another certificate than tls.crt (not reloaded yet?)")
                )
    for finding in findings:
        print(finding)
    errors = sum(f.level == "error" for f in findings)
    warnings = sum(f.level == "warning" for f in findings)
    print(f"{errors} error(s), {warnings} warning(s)")
    return ExitCode.FAILED if errors else ExitCode.OK


_ACTIONS = {"generate": _generate, "renew": _renew, "rotate": _rotate, "check": _check}
