"""Mock outputs of every GCP resource HelixFlow creates: type token -> (name, inputs) -> what GCP would add
(ids, self links, endpoints, private IPs, server CAs), so a plan's Outputs resolve to realistic values.

Deterministic (no clocks, no randomness): the same plan gives the same values. Inputs arrive with wire
names (camelCase). The addresses come from documentation-style ranges (the values are throwaway).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Mapping
from typing import Any

PLAN_PROJECT = "helixflow-plan"  # resources whose project comes from the provider get this one
COMPUTE = "https://www.googleapis.com/compute/v1"
# A real, parseable self-signed CA (EC P-256) standing in for Cloud SQL's and Memorystore's server CAs.
PLAN_CA = """-----BEGIN CERTIFICATE-----
MIIBZzCCAQ6gAwIBAgIBATAKBggqhkjOPQQDAjAzMTEwLwYDVQQDDChIZWxpeEZs
b3cgcGxhbiBDQSAobm90IGEgcmVhbCBzZXJ2ZXIgQ0EpMB4XDTI2MDEwMTAwMDAw
MFoXDTM1MTIzMDAwMDAwMFowMzExMC8GA1UEAwwoSGVsaXhGbG93IHBsYW4gQ0Eg
KG5vdCBhIHJlYWwgc2VydmVyIENBKTBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IA
BOltdRGTOEeF19sooW81l+Ba2pdXzuyZWiiznU97Tj6+p/DOMI0gF/uceigCfUMH
3C9QOsSBhmZDRMQXms0ChLijEzARMA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZIzj0E
AwIDRwAwRAIgMRIIg03tBHVtDHyse2m+N8/pbnozTyIbxsIOLy2GghICIAKNRV0u
W8n0iMUqLDjm5qZKWUjxJuSXIib9hJJZCbzb
-----END CERTIFICATE-----
"""

Outputs = Callable[[str, Mapping[str, Any]], dict[str, Any]]


def _octet(name: str) -> int:
    return int(hashlib.sha256(name.encode()).hexdigest()[:2], 16) % 200 + 10


def _project(inputs: Mapping[str, Any]) -> str:
    return str(inputs.get("project") or PLAN_PROJECT)


def _name(name: str, inputs: Mapping[str, Any]) -> str:
    return str(inputs.get("name") or name)


def _network(name: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    link = f"{COMPUTE}/projects/{_project(inputs)}/global/networks/{_name(name, inputs)}"
    return {"id": f"projects/{_project(inputs)}/global/networks/{_name(name, inputs)}", "name": _name(name, inputs),
            "selfLink": link, "gatewayIpv4": ""}  # fmt: skip


def _regional(kind: str) -> Outputs:
    def outputs(name: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
        path = f"projects/{_project(inputs)}/regions/{inputs.get('region', 'us-central1')}/{kind}/{_name(name, inputs)}"
        return {"id": path, "name": _name(name, inputs), "selfLink": f"{COMPUTE}/{path}"}

    return outputs


def _subnetwork(name: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    cidr = str(inputs.get("ipCidrRange", "10.0.0.0/20"))
    return {**_regional("subnetworks")(name, inputs), "gatewayAddress": cidr.split("/")[0].rsplit(".", 1)[0] + ".1"}


def _router_nat(name: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    region, router = inputs.get("region", "us-central1"), inputs.get("router", "router")
    return {"id": f"{_project(inputs)}/{region}/{router}/{_name(name, inputs)}", "name": _name(name, inputs)}


def _global_address(name: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    path = f"projects/{_project(inputs)}/global/addresses/{_name(name, inputs)}"
    return {"id": path, "name": _name(name, inputs), "selfLink": f"{COMPUTE}/{path}"}


def _connection(name: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    return {"id": f"{inputs.get('network', name)}:servicenetworking.googleapis.com", "peering": "servicenetworking"}


def _account(name: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    email = f"{inputs.get('accountId', name)}@{_project(inputs)}.iam.gserviceaccount.com"
    return {"id": f"projects/{_project(inputs)}/serviceAccounts/{email}", "email": email,
            "name": f"projects/{_project(inputs)}/serviceAccounts/{email}", "member": f"serviceAccount:{email}",
            "uniqueId": str(10**20 + _octet(name))}  # fmt: skip


def _iam_member(name: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    return {"etag": "BwYplan=", "id": f"{name}/{inputs.get('role', '')}/{inputs.get('member', '')}"}


def _cluster(name: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    location = inputs.get("location", "us-central1")
    return {
        "id": f"projects/{_project(inputs)}/locations/{location}/clusters/{_name(name, inputs)}",
        "name": _name(name, inputs), "endpoint": f"34.118.{_octet(name)}.2",
        "selfLink": f"https://container.googleapis.com/v1/projects/{_project(inputs)}/locations/{location}/clusters/"
                    f"{_name(name, inputs)}",
        "masterAuth": {"clusterCaCertificate": base64.b64encode(PLAN_CA.encode()).decode(),  # as GKE gives it
                       "clientCertificateConfig": {"issueClientCertificate": False}},
        "masterVersion": "1.34.1-gke.1000", "labelFingerprint": "a9dc16a7",
    }  # fmt: skip


def _node_pool(name: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    return {"id": f"{inputs.get('location', 'us-central1')}/{inputs.get('cluster', 'cluster')}/{_name(name, inputs)}",
            "name": _name(name, inputs), "version": "1.34.1-gke.1000",
            "instanceGroupUrls": [f"{COMPUTE}/projects/{_project(inputs)}/zones/z/instanceGroupManagers/{name}-grp"]}


def _sql_instance(name: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    project, instance = _project(inputs), _name(name, inputs)
    return {
        "id": instance, "name": instance,
        "connectionName": f"{project}:{inputs.get('region', 'us-central1')}:{instance}",
        "privateIpAddress": f"10.16.0.{_octet(name)}", "publicIpAddress": "",
        "selfLink": f"https://sqladmin.googleapis.com/sql/v1beta4/projects/{project}/instances/{instance}",
        "serviceAccountEmailAddress": "p123-abcd@gcp-sa-cloud-sql.iam.gserviceaccount.com",
        "serverCaCerts": [{"cert": PLAN_CA, "commonName": "C=US,O=Google\\, Inc,CN=Google Cloud SQL Server CA",
                           "expirationTime": "2035-12-30T00:00:00Z", "sha1Fingerprint": "plan"}],
    }  # fmt: skip


def _sql_child(name: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    return {"id": f"{inputs.get('instance', 'instance')}/{_name(name, inputs)}", "name": _name(name, inputs)}


def _redis(name: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    region = inputs.get("region", "us-central1")
    return {
        "id": f"projects/{_project(inputs)}/locations/{region}/instances/{_name(name, inputs)}",
        "name": _name(name, inputs), "host": f"10.16.1.{_octet(name)}", "port": 6378,  # 6378: the TLS port
        "readEndpoint": f"10.16.1.{_octet(name) + 1}", "readEndpointPort": 6378,
        "currentLocationId": f"{region}-a", "authString": f"plan-auth-{_octet(name)}",
        "serverCaCerts": [{"cert": PLAN_CA, "serialNumber": "1", "sha1Fingerprint": "plan"}],
    }  # fmt: skip


def _bucket(name: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    bucket = _name(name, inputs)
    return {"id": bucket, "name": bucket, "url": f"gs://{bucket}",
            "selfLink": f"https://www.googleapis.com/storage/v1/b/{bucket}", "project": _project(inputs)}


OUTPUTS: Mapping[str, Outputs] = {
    "gcp:compute/network:Network": _network,
    "gcp:compute/subnetwork:Subnetwork": _subnetwork,
    "gcp:compute/router:Router": _regional("routers"),
    "gcp:compute/routerNat:RouterNat": _router_nat,
    "gcp:compute/globalAddress:GlobalAddress": _global_address,
    "gcp:servicenetworking/connection:Connection": _connection,
    "gcp:serviceaccount/account:Account": _account,
    "gcp:serviceaccount/iAMMember:IAMMember": _iam_member,
    "gcp:projects/iAMMember:IAMMember": _iam_member,
    "gcp:container/cluster:Cluster": _cluster,
    "gcp:container/nodePool:NodePool": _node_pool,
    "gcp:sql/databaseInstance:DatabaseInstance": _sql_instance,
    "gcp:sql/database:Database": _sql_child,
    "gcp:sql/user:User": _sql_child,
    "gcp:redis/instance:Instance": _redis,
    "gcp:storage/bucket:Bucket": _bucket,
    "gcp:storage/bucketIAMMember:BucketIAMMember": _iam_member,
}
CALLS: Mapping[str, Callable[[Mapping[str, Any]], dict[str, Any]]] = {}  # the GCP program makes no invokes
