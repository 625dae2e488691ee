"""A real Kubernetes control plane on 127.0.0.1 with kwok-simulated nodes, GPU nodes included.

etcd, kube-apiserver, kube-controller-manager and kube-scheduler are the real binaries; kwok plays
the kubelets, so pods are scheduled, become Running and Ready, Deployments roll out and Jobs
complete, but no container runs. What it answers: does a rollout schedule, do the quotas fit,
what stays Pending and why, before anyone pays for a GPU.

State lives in $HELIXFLOW_HOME/sim/<name>/: the processes' pid files and logs, the certificates,
the kubeconfig, and state.json (ports, pids).
"""

from __future__ import annotations

import json
import secrets
import shutil
import socket
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from helixflow.components.processes import (
    ProcessError,
    is_running,
    start_process,
    start_ticks,
    stop_process,
    wait_until,
)
from helixflow.stacks.errors import HelixFlowError
from helixflow.stacks.kubesim.binaries import find_sim_binaries
from helixflow.stacks.paths import helixflow_home

GPU_RESOURCE = "nvidia.com/gpu"
GPU_TAINT = {"key": GPU_RESOURCE, "value": "present", "effect": "NoSchedule"}
GPU_POOL_LABEL = "helixflow.io/pool"  # "gpu" or "cpu": what a stack's node selector matches
ZONES = ("zone-a", "zone-b", "zone-c")
PROCESSES = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok")


@dataclass(frozen=True)
class NodePlan:
    cpu_nodes: int = 2
    gpu_nodes: int = 2
    gpus_per_node: int = 8
    gpu_product: str = "NVIDIA-H100-80GB-HBM3"
    cpu_per_node: str = "16"
    memory_per_node: str = "64Gi"
    # what an 8-GPU node has (p5.48xlarge, a3-highgpu-8g: ~200 vCPUs, 2 TiB)
    cpu_per_gpu_node: str = "192"
    memory_per_gpu_node: str = "2048Gi"

    def validate(self) -> None:
        if not (0 <= self.cpu_nodes <= 500 and 0 <= self.gpu_nodes <= 500 and self.cpu_nodes + self.gpu_nodes):
            raise HelixFlowError("between 1 and 1000 nodes in all, at most 500 of each kind", hint="--cpu-nodes N")
        if not 1 <= self.gpus_per_node <= 16:
            raise HelixFlowError("--gpus-per-node must be between 1 and 16", hint="e.g. --gpus-per-node 8")


@dataclass
class SimState:
    name: str
    etcd_port: int
    etcd_peer_port: int
    apiserver_port: int
    kwok_port: int
    token: str
    nodes: dict[str, Any]
    pids: dict[str, list[int | None]] = field(default_factory=dict)  # process -> [pid, start ticks]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


class SimCluster:
    """One simulated cluster. Methods raise HelixFlowError for what a user can act on."""

    def __init__(self, name: str = "default") -> None:
        if not name.replace("-", "").isalnum():
            raise HelixFlowError(f"invalid cluster name {name!r}", hint="use letters, digits and '-'")
        self.name = name
        self.dir = helixflow_home() / "sim" / name

    # --- paths ---------------------------------------------------------------------------
    @property
    def kubeconfig(self) -> Path:
        return self.dir / "kubeconfig"

    @property
    def _state_file(self) -> Path:
        return self.dir / "state.json"

    def _log(self, process: str) -> Path:
        return self.dir / "logs" / f"{process}.log"

    def state(self) -> SimState | None:
        try:
            return SimState(**json.loads(self._state_file.read_text()))
        except (OSError, ValueError, TypeError):
            return None

    def _save(self, state: SimState) -> None:
        self._state_file.write_text(json.dumps(asdict(state), indent=1))

    def running(self) -> dict[str, bool]:
        state = self.state()
        pids = state.pids if state else {}
        return {p: bool(pids.get(p)) and is_running(pids[p][0], pids[p][1]) for p in PROCESSES}

    # --- up --------------------------------------------------------------------------------
    def up(self, plan: NodePlan) -> Path:
        """Start the control plane and create the nodes; returns the kubeconfig path. Idempotent while it runs."""
        plan.validate()
        if self.state() is not None and all(self.running().values()):
            raise HelixFlowError(
                f"simulated cluster '{self.name}' is already running (kubeconfig {self.kubeconfig})",
                hint="`helixflow sim down` first to start it with other nodes",
            )
        self.down()  # whatever an earlier, interrupted start left
        binaries = find_sim_binaries()
        (self.dir / "logs").mkdir(parents=True)
        (self.dir / "certs").mkdir()
        state = SimState(
            name=self.name, etcd_port=_free_port(), etcd_peer_port=_free_port(), apiserver_port=_free_port(),
            kwok_port=_free_port(), token=secrets.token_hex(24), nodes=asdict(plan),
        )  # fmt: skip
        self._write_credentials(state)
        try:
            etcd_up = lambda: _port_open(state.etcd_port)  # noqa: E731
            self._start(state, "etcd", binaries.path("etcd"), self._etcd_args(state), etcd_up)
            self._start(state, "kube-apiserver", binaries.path("kube-apiserver"), self._apiserver_args(state),
                        self._apiserver_ready, timeout=90)  # fmt: skip
            k = self.kubeconfig
            common = [f"--kubeconfig={k}", f"--authentication-kubeconfig={k}", f"--authorization-kubeconfig={k}",
                      "--secure-port=0", "--leader-elect=false"]  # fmt: skip
            self._start(state, "kube-controller-manager", binaries.path("kube-controller-manager"), [
                *common, f"--service-account-private-key-file={self.dir / 'certs' / 'sa.key'}",
                f"--root-ca-file={self.dir / 'certs' / 'apiserver.crt'}", "--controllers=*,-nodeipam",
                # kwok's node heartbeats stall on a loaded machine; a node marked NotReady has its pods' Ready
                # set to False, which kwok never sets back: give the simulated nodes a long grace period.
                "--node-monitor-grace-period=10m",
            ], None)  # fmt: skip
            self._start(state, "kube-scheduler", binaries.path("kube-scheduler"), common, None)
            self._start(state, "kwok", binaries.path("kwok"), [
                f"--kubeconfig={self.kubeconfig}", "--manage-all-nodes=false",
                "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake", "--node-ip=10.0.0.1",
                "--cidr=10.0.0.1/24", f"--server-address=127.0.0.1:{state.kwok_port}",
            ], None)  # fmt: skip
            from helixflow.stacks.kubesim.nodes import create_nodes, create_storage, wait_nodes_ready

            with self.client() as api:
                create_nodes(api, plan)
                create_storage(api)
                wait_nodes_ready(api, plan.cpu_nodes + plan.gpu_nodes, timeout=120)
        except ProcessError as err:
            self._stop_processes()
            raise HelixFlowError(f"the simulated cluster did not start: {err}",
                                 hint=f"the logs are under {self.dir / 'logs'}") from None  # fmt: skip
        except BaseException:
            self._stop_processes()
            raise
        return self.kubeconfig

    def _write_credentials(self, state: SimState) -> None:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        certs = self.dir / "certs"
        (certs / "sa.key").write_bytes(key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
        ))  # fmt: skip
        (certs / "sa.pub").write_bytes(key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ))  # fmt: skip
        (certs / "tokens.csv").write_text(f"{state.token},admin,admin,system:masters\n")
        for path in certs.iterdir():
            path.chmod(0o600)
        self._write_kubeconfig(state)

    def _write_kubeconfig(self, state: SimState) -> None:
        import yaml

        cluster = {"server": f"https://127.0.0.1:{state.apiserver_port}",
                   "certificate-authority": str(self.dir / "certs" / "apiserver.crt")}  # fmt: skip
        document = {
            "apiVersion": "v1", "kind": "Config", "current-context": f"helixflow-sim-{self.name}",
            "clusters": [{"name": f"helixflow-sim-{self.name}", "cluster": cluster}],
            "users": [{"name": "admin", "user": {"token": state.token}}],
            "contexts": [{"name": f"helixflow-sim-{self.name}",
                          "context": {"cluster": f"helixflow-sim-{self.name}", "user": "admin"}}],
        }  # fmt: skip
        self.kubeconfig.write_text(yaml.safe_dump(document, sort_keys=False))
        self.kubeconfig.chmod(0o600)

    def _etcd_args(self, state: SimState) -> list[str]:
        client, peer = f"http://127.0.0.1:{state.etcd_port}", f"http://127.0.0.1:{state.etcd_peer_port}"
        return [f"--data-dir={self.dir / 'etcd'}", f"--listen-client-urls={client}",
                f"--advertise-client-urls={client}", f"--listen-peer-urls={peer}",
                f"--initial-advertise-peer-urls={peer}", f"--initial-cluster=default={peer}", "--log-level=warn"]

    def _apiserver_args(self, state: SimState) -> list[str]:
        certs = self.dir / "certs"
        return [
            f"--etcd-servers=http://127.0.0.1:{state.etcd_port}", f"--secure-port={state.apiserver_port}",
            "--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", f"--cert-dir={certs}",
            "--service-account-issuer=https://kubernetes.default.svc", f"--service-account-key-file={certs / 'sa.pub'}",
            f"--service-account-signing-key-file={certs / 'sa.key'}", f"--token-auth-file={certs / 'tokens.csv'}",
            "--authorization-mode=Node,RBAC", "--service-cluster-ip-range=10.96.0.0/16",
        ]  # fmt: skip

    def _apiserver_ready(self) -> bool:
        import httpx

        state = self.state()
        ca = self.dir / "certs" / "apiserver.crt"
        if state is None or not ca.exists():
            return False
        try:
            response = httpx.get(f"https://127.0.0.1:{state.apiserver_port}/readyz", verify=str(ca), timeout=2,
                                 headers={"Authorization": f"Bearer {state.token}"})  # fmt: skip
        except httpx.HTTPError:
            return False
        return response.status_code == 200

    def _start(self, state: SimState, process: str, binary: str, args: list[str], ready: Callable[[], bool] | None,
               timeout: float = 30) -> None:  # fmt: skip
        log = self._log(process)
        pid = start_process([binary, *args], log, cwd=self.dir, label=process)
        state.pids[process] = [pid, start_ticks(pid)]
        self._save(state)
        wait_until(ready or (lambda: True), pid=pid, started=state.pids[process][1], log_file=log,
                   what=process, timeout=timeout)  # fmt: skip
        if ready is None:  # nothing to probe: it must at least survive its start
            time.sleep(0.3)
            if not is_running(pid, state.pids[process][1]):
                raise HelixFlowError(f"{process} exited during start-up: see {log}", hint="read its log")

    # --- use -------------------------------------------------------------------------------
    def client(self) -> Any:
        """An httpx client for the API server (admin token, CA verified). Raises HelixFlowError when it is not up."""
        import httpx

        state = self.state()
        if state is None:
            raise HelixFlowError(f"simulated cluster '{self.name}' is not running", hint="`helixflow sim up`")
        return httpx.Client(base_url=f"https://127.0.0.1:{state.apiserver_port}", timeout=30,
                            verify=str(self.dir / "certs" / "apiserver.crt"),
                            headers={"Authorization": f"Bearer {state.token}"})  # fmt: skip

    def status(self) -> dict[str, Any]:
        """Processes, nodes (ready, GPUs) and pods that are not running, with the scheduler's reason."""
        state = self.state()
        if state is None:
            return {"name": self.name, "running": False, "processes": {}, "nodes": [], "pending_pods": []}
        processes = self.running()
        report: dict[str, Any] = {"name": self.name, "running": all(processes.values()), "processes": processes,
                                  "kubeconfig": str(self.kubeconfig), "nodes": [], "pending_pods": []}  # fmt: skip
        if processes.get("kube-apiserver"):
            from helixflow.stacks.kubesim.nodes import describe_nodes, pending_pods

            with self.client() as api:
                report["nodes"] = describe_nodes(api)
                report["pending_pods"] = pending_pods(api)
        return report

    # --- down ------------------------------------------------------------------------------
    def down(self) -> list[str]:
        """Stop every process this cluster started (kwok first, etcd last) and remove its files."""
        stopped = self._stop_processes()
        shutil.rmtree(self.dir, ignore_errors=True)
        return stopped

    def _stop_processes(self) -> list[str]:
        state = self.state()
        stopped = []
        for process in reversed(PROCESSES):
            pid, started = ((state.pids.get(process) if state else None) or [None, None])[:2]
            if pid and is_running(pid, started):
                stop_process(pid, started, timeout=10)
                stopped.append(process)
        return stopped
