"""Running a service's app factory, as each ``__main__`` does: every service under uvicorn (uvloop +
httptools). The gateway ran on a home-made server until it failed the 2x rule (1.15x-1.5x of uvicorn's
throughput, bench/gateway_bench.py); uvicorn brings the limits a public server needs."""

from __future__ import annotations

import os
import sys
import tempfile

import uvicorn
from pydantic import ValidationError

from helixflow.runtime.settings import RuntimeSettings, get_settings


def load_settings_or_exit() -> RuntimeSettings:
    """The settings, or one line on stderr and exit 2 when the environment is invalid."""
    try:
        return get_settings()
    except ValidationError as err:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg']}" for e in err.errors())
        sys.stderr.write(f"error: invalid HELIXFLOW_* settings: {problems}\n")
        raise SystemExit(2) from None


def serve(factory: str, host: str, port: int, workers: int = 1) -> None:
    """``factory`` is ``module:function``."""
    if workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # Workers share their metric samples through files in this folder.
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="helixflow-metrics-")
    uvicorn.run(factory, factory=True, host=host, port=port, workers=workers, loop="uvloop", http="httptools",
                access_log=False, log_level="warning", proxy_headers=False, timeout_graceful_shutdown=10)
