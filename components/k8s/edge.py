"""The public endpoint on a cluster: an Ingress (ingress-nginx) with a certificate from cert-manager.

With a domain: ACME ClusterIssuers for Let's Encrypt staging and production (HTTP-01 through the ingress
class) and a Certificate for the domain. Without one: a self-signed CA (a self-signed ClusterIssuer signs a
CA in the runtime's namespace, whose Issuer signs the endpoint's certificate), so TLS is on either way; the
CA stays in the runtime's namespace, so nothing depends on where cert-manager itself runs.
The Ingress routes what the local nginx routes: `/v1` and health to the gateway; `/oauth`, `/.well-known`,
`/admin` to the auth service.
`/metrics`, `/docs` and `/openapi.json` are never routed: Prometheus scrapes the services directly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import pulumi
import pulumi_kubernetes as k8s

from helixflow.components.k8s import pods
from helixflow.components.k8s.runtime import AUTH_PORT, GATEWAY_PORT

TYPE = "helixflow:k8s:Edge"
CERT_MANAGER = "cert-manager.io/v1"
ACME_SERVERS = {
    "production": "https://acme-v02.api.letsencrypt.org/directory",
    "staging": "https://acme-staging-v02.api.letsencrypt.org/directory",
}
# path prefix -> (Service, port)
ROUTES = {
    "/v1": ("gateway", GATEWAY_PORT), "/health": ("gateway", GATEWAY_PORT),
    "/oauth": ("auth", AUTH_PORT), "/.well-known": ("auth", AUTH_PORT), "/admin": ("auth", AUTH_PORT),
}  # fmt: skip
TLS_SECRET = "helixflow-endpoint-tls"


@dataclass(frozen=True)
class EdgeArgs:
    namespace: str
    domain: str | None = None
    acme_email: str | None = None
    acme_server: Literal["production", "staging"] = "production"
    ingress_class: str = "nginx"
    wait_for: tuple[pulumi.Resource, ...] = ()  # cert-manager's and ingress-nginx's releases, when installed here

    def __post_init__(self) -> None:
        if self.domain and not self.acme_email:
            raise ValueError("a domain needs an ACME email: Let's Encrypt registers the account with it")

    @property
    def issuer(self) -> dict[str, str]:
        if self.domain:
            return {"name": f"letsencrypt-{self.acme_server}", "kind": "ClusterIssuer", "group": "cert-manager.io"}
        return {"name": "helixflow-ca", "kind": "Issuer", "group": "cert-manager.io"}


class Edge(pulumi.ComponentResource):
    host: pulumi.Output[str]

    def __init__(self, name: str, args: EdgeArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE, name, None, opts)
        child = pulumi.ResourceOptions(parent=self, depends_on=list(args.wait_for))
        issuers = self._acme_issuers(name, args, child) if args.domain else self._self_signed(name, args, child)
        after_issuers = pulumi.ResourceOptions(parent=self, depends_on=[*args.wait_for, *issuers])
        certificate = _custom(f"{name}-certificate", "Certificate", args.namespace, "helixflow-endpoint", {
            "secretName": TLS_SECRET,
            "dnsNames": [args.domain or f"gateway.{args.namespace}.svc"],
            "issuerRef": args.issuer,
            "privateKey": {"algorithm": "ECDSA", "size": 256, "rotationPolicy": "Always"},
        }, after_issuers)  # fmt: skip
        self._ingress(name, args, pulumi.ResourceOptions(parent=self, depends_on=[certificate]))
        self.host = pulumi.Output.from_input(args.domain or "")
        self.register_outputs({"host": self.host})

    @staticmethod
    def _acme_issuers(name: str, args: EdgeArgs, opts: pulumi.ResourceOptions) -> list[pulumi.Resource]:
        return [
            _custom(f"{name}-issuer-{server}", "ClusterIssuer", None, f"letsencrypt-{server}", {"acme": {
                "server": url, "email": args.acme_email,
                "privateKeySecretRef": {"name": f"letsencrypt-{server}-account"},
                "solvers": [{"http01": {"ingress": {"ingressClassName": args.ingress_class}}}],
            }}, opts)
            for server, url in ACME_SERVERS.items()
        ]

    @staticmethod
    def _self_signed(name: str, args: EdgeArgs, opts: pulumi.ResourceOptions) -> list[pulumi.Resource]:
        root = _custom(f"{name}-selfsigned", "ClusterIssuer", None, "helixflow-selfsigned", {"selfSigned": {}}, opts)
        ca = _custom(f"{name}-ca", "Certificate", args.namespace, "helixflow-ca", {
            "isCA": True, "commonName": "HelixFlow cluster CA", "secretName": "helixflow-ca",
            "duration": "87600h", "privateKey": {"algorithm": "ECDSA", "size": 256},
            "issuerRef": {"name": "helixflow-selfsigned", "kind": "ClusterIssuer", "group": "cert-manager.io"},
        }, pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[root])))  # fmt: skip
        issuer = _custom(f"{name}-ca-issuer", "Issuer", args.namespace, "helixflow-ca",
                         {"ca": {"secretName": "helixflow-ca"}},
                         pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[ca])))  # fmt: skip
        return [root, ca, issuer]

    @staticmethod
    def _ingress(name: str, args: EdgeArgs, opts: pulumi.ResourceOptions) -> None:
        paths = [
            k8s.networking.v1.HTTPIngressPathArgs(
                path=prefix, path_type="Prefix",
                backend=k8s.networking.v1.IngressBackendArgs(service=k8s.networking.v1.IngressServiceBackendArgs(
                    name=service, port=k8s.networking.v1.ServiceBackendPortArgs(number=port))),
            )
            for prefix, (service, port) in ROUTES.items()
        ]
        hosts = [args.domain] if args.domain else None
        k8s.networking.v1.Ingress(
            f"{name}-ingress",
            metadata=k8s.meta.v1.ObjectMetaArgs(name="helixflow", namespace=args.namespace, labels=pods.PART_OF,
                                                annotations={
                "nginx.ingress.kubernetes.io/ssl-redirect": "true",
                "nginx.ingress.kubernetes.io/force-ssl-redirect": "true",
                "nginx.ingress.kubernetes.io/proxy-body-size": "8m",
                # Streams: relay each event as it comes, and give long generations time.
                "nginx.ingress.kubernetes.io/proxy-buffering": "off",
                "nginx.ingress.kubernetes.io/proxy-read-timeout": "600",
                # Ready means a load balancer address, which a cloud gives in minutes and a simulated
                # cluster never: `up` does not wait for it (`validate` checks the endpoint itself).
                "pulumi.com/skipAwait": "true",
            }),
            spec=k8s.networking.v1.IngressSpecArgs(
                ingress_class_name=args.ingress_class,
                tls=[k8s.networking.v1.IngressTLSArgs(hosts=hosts, secret_name=TLS_SECRET)],
                rules=[k8s.networking.v1.IngressRuleArgs(
                    host=args.domain, http=k8s.networking.v1.HTTPIngressRuleValueArgs(paths=paths))],
            ),
            opts=opts,
        )


def _custom(resource: str, kind: str, namespace: str | None, name: str, spec: dict[str, Any],
            opts: pulumi.ResourceOptions) -> k8s.apiextensions.CustomResource:  # fmt: skip
    return k8s.apiextensions.CustomResource(
        resource, api_version=CERT_MANAGER, kind=kind,
        metadata=k8s.meta.v1.ObjectMetaArgs(name=name, namespace=namespace, labels=pods.PART_OF),
        spec=spec, opts=opts,
    )  # fmt: skip
