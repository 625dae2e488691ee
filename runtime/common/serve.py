"""Running a service's app factory, as each ``__main__`` does: the gateway on HelixFlow's own lean server
(``http_server.py``: a third of uvicorn's CPU per request, and it cancels a request whose client left), the
other services under uvicorn (uvloop + httptools)."""

from __future__ import annotations

import importlib
import os
import sys
import tempfile

import uvicorn
from pydantic import ValidationError

from helixflow.runtime.common.http_server import serve_asgi
from helixflow.runtime.settings import RuntimeSettings, get_settings


def load_settings_or_exit() -> RuntimeSettings:
    """The settings, or one line on stderr and exit 2 when the environment is invalid."""
    try:
        return get_settings()
    except ValidationError as err:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg']}" for e in err.errors())
        sys.stderr.write(f"error: invalid HELIXFLOW_* settings: {problems}\n")
        raise SystemExit(2) from None


def serve(factory: str, host: str, port: int, workers: int = 1, *, lean_server: bool = False) -> None:
    """``factory`` is ``module:function``."""
    if workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # Workers share their metric samples through files in this folder.
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="helixflow-metrics-")
    if lean_server:
        module, _, name = factory.partition(":")
        serve_asgi(getattr(importlib.import_module(module), name), host, port, workers=workers, graceful_timeout=10)
        return
    uvicorn.run(factory, factory=True, host=host, port=port, workers=workers, loop="uvloop", http="httptools",
                access_log=False, log_level="warning", proxy_headers=False, timeout_graceful_shutdown=10)
