"""Talk to a local HelixFlow stack with the official OpenAI SDK.

    source .venv/bin/activate
    python examples/openai_client.py [--stack local]

Reads the endpoint, CA file and admin API key from the stack's outputs.
"""

from __future__ import annotations

import argparse
import json
import shutil
import ssl
import subprocess
import sys
from pathlib import Path

import httpx
import openai


def stack_outputs(stack: str) -> dict[str, str]:
    # The CLI beside this interpreter (the project's venv), so the example also runs without activating it.
    cli = shutil.which("helixflow", path=str(Path(sys.executable).parent)) or "helixflow"
    raw = subprocess.run(
        [cli, "outputs", "--show-secrets", "--json", "-s", stack], capture_output=True, text=True, check=True
    ).stdout
    return dict(json.loads(raw))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stack", default="local")
    args = parser.parse_args()
    outputs = stack_outputs(args.stack)
    client = openai.OpenAI(
        base_url=f"{outputs['endpoint']}/v1",
        api_key=outputs["admin_api_key"],
        http_client=httpx.Client(verify=ssl.create_default_context(cafile=outputs["ca_file"])),
    )
    print("models:", [m.id for m in client.models.list()])
    reply = client.chat.completions.create(
        model=outputs["model"], messages=[{"role": "user", "content": "Hello!"}], max_tokens=16
    )
    print("reply:", reply.choices[0].message.content, reply.usage)
    stream = client.chat.completions.create(
        model=outputs["model"],
        messages=[{"role": "user", "content": "Stream, please."}],
        max_tokens=16,
        stream=True,
        stream_options={"include_usage": True},
    )
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            print(chunk.choices[0].delta.content, end="", flush=True)
        elif chunk.usage:
            print("\nusage:", chunk.usage)


if __name__ == "__main__":
    main()
