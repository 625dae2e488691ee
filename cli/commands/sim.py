"""`helixflow sim`: a simulated Kubernetes cluster on this machine (a real control plane, kwok nodes) to
rehearse a rollout before spending on GPUs: does it schedule, do the quotas fit, what stays Pending."""

from __future__ import annotations

import typer

from helixflow.cli.output import err_console, out_console, print_json

app = typer.Typer(help="A simulated Kubernetes cluster with GPU nodes, on 127.0.0.1.", no_args_is_help=True)
NAME_OPTION = typer.Option("default", "--name", help="The simulated cluster's name.")


@app.command("up")
def up(
    name: str = NAME_OPTION,
    cpu_nodes: int = typer.Option(2, "--cpu-nodes", min=0, max=500, help="Nodes without GPUs."),
    gpu_nodes: int = typer.Option(2, "--gpu-nodes", min=0, max=500, help="Nodes with GPUs (tainted nvidia.com/gpu)."),
    gpus_per_node: int = typer.Option(8, "--gpus-per-node", min=1, max=16, help="nvidia.com/gpu on each GPU node."),
    gpu_product: str = typer.Option("NVIDIA-H100-80GB-HBM3", "--gpu-product", help="The nvidia.com/gpu.product label."),
    json_output: bool = typer.Option(False, "--json", help="Print the result as JSON on stdout."),
) -> None:
    """Start the cluster and create its nodes; prints the kubeconfig path."""
    from helixflow.stacks.kubesim.cluster import NodePlan, SimCluster

    plan = NodePlan(cpu_nodes=cpu_nodes, gpu_nodes=gpu_nodes, gpus_per_node=gpus_per_node, gpu_product=gpu_product)
    with err_console().status(f"starting simulated cluster '{name}'"):
        kubeconfig = SimCluster(name).up(plan)
    if json_output:
        print_json({"name": name, "kubeconfig": str(kubeconfig), "nodes": plan.__dict__})
        return
    err_console().print(f"[green]Simulated cluster '{name}' is up[/]: {cpu_nodes} CPU nodes, {gpu_nodes} GPU nodes "
                        f"({gpus_per_node} x {gpu_product}); use it with KUBECONFIG=")  # fmt: skip
    typer.echo(str(kubeconfig))


@app.command("status")
def status(name: str = NAME_OPTION, json_output: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Its processes, nodes, and pods the scheduler could not place (with its reason). Exit 1 when it is not up."""
    from helixflow.stacks.kubesim.cluster import SimCluster

    report = SimCluster(name).status()
    if json_output:
        print_json(report)
    else:
        from rich.markup import escape
        from rich.table import Table

        console = out_console()
        if not report["processes"]:
            console.print(f"simulated cluster '{name}' is not running")
        else:
            down = [p for p, alive in report["processes"].items() if not alive]
            console.print(f"simulated cluster '{name}': " + ("running" if not down else f"down: {', '.join(down)}"))
            nodes = Table(title="nodes")
            for column in ("node", "ready", "zone", "gpus", "gpu product"):
                nodes.add_column(column)
            for n in report["nodes"]:
                nodes.add_row(n["name"], "yes" if n["ready"] else "no", n["zone"], str(n["gpus"]), n["gpu_product"])
            console.print(nodes)
            for pod in report["pending_pods"]:
                console.print(f"[yellow]pending[/] {pod['namespace']}/{pod['name']}: {escape(pod['reason'])}")
    if not report["running"]:
        raise typer.Exit(1)


@app.command("down")
def down(name: str = NAME_OPTION) -> None:
    """Stop every process the cluster started and delete its files (nothing is left listening)."""
    from helixflow.stacks.kubesim.cluster import SimCluster

    stopped = SimCluster(name).down()
    err_console().print(f"simulated cluster '{name}' is down ({len(stopped)} processes stopped)")
