"""`helixflow usage replay`: insert a stack's dead-lettered usage records again, once their cause is fixed.

It calls the stack's admin API (``POST /admin/usage/dead-letters/replay``) with the stack's admin key, so it
works for every target. Replaying is idempotent: a record already billed is not billed again.
"""

from __future__ import annotations

from typing import Any

import typer

from helixflow.cli.output import out_console, print_json

app = typer.Typer(help="Usage accounting of a stack.", no_args_is_help=True, rich_markup_mode=None)


def replay_dead_letters(stack: str) -> dict[str, Any]:
    """Replays the stack's dead letters; returns the admin API's counts. Raises HelixFlowError."""
    import httpx

    from helixflow.stacks.errors import HelixFlowError
    from helixflow.stacks.validate import deployment_from_stack

    deployment = deployment_from_stack(stack)
    url = (deployment.admin_url or deployment.endpoint).rstrip("/") + "/admin/usage/dead-letters/replay"
    try:
        response = httpx.post(url, headers={"Authorization": f"Bearer {deployment.api_key}"},
                              verify=deployment.ca_file or True, timeout=300)
    except httpx.HTTPError as err:
        raise HelixFlowError(f"cannot reach the admin API at {url}: {err}",
                             hint=f"is the stack up? `helixflow status -s {stack}`") from err
    if response.status_code != 200:
        try:
            message = str(response.json()["error"]["message"])
        except (ValueError, KeyError, TypeError):
            message = response.text[:200]
        raise HelixFlowError(f"replay failed ({response.status_code}): {message}",
                             hint="a 503 means PostgreSQL or Redis is still down: fix that, then replay again")
    result: dict[str, Any] = response.json()
    return result


@app.command()
def replay(
    stack: str = typer.Option("local", "--stack", "-s", help="The stack whose dead letters to replay."),
    json_output: bool = typer.Option(False, "--json", help="Print the counts as JSON on stdout."),
) -> None:
    """Insert the dead-lettered usage records again (each is billed once, however often this runs)."""
    result = replay_dead_letters(stack)
    if json_output:
        print_json(result)
        return
    console = out_console()
    console.print(f"replayed {result['replayed']}, still refused {result['still_rejected']}, "
                  f"left on the dead-letter stream {result['remaining']}")
    for error in result.get("errors", []):
        console.print(f"  refused: {error}")
    if result["still_rejected"]:
        raise typer.Exit(1)
