"""The command line of a CPU engine worker on this machine (the `local` target's workers).

Its key travels in the environment (`HELIXFLOW_ENGINE_API_KEY`), not on the command line.
"""

from __future__ import annotations

import sys
from pathlib import Path

ENGINE_API_KEY_ENV = "HELIXFLOW_ENGINE_API_KEY"


def cpu_engine_argv(
    model: Path, served_model_name: str, *, host: str = "127.0.0.1", port: int, threads: int = 1
) -> list[str]:
    return [
        sys.executable, "-m", "helixflow.runtime.engine", "--model", str(model),
        "--served-model-name", served_model_name, "--host", host, "--port", str(port), "--threads", str(threads),
    ]  # fmt: skip
