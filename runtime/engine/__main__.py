"""`python -m helixflow.runtime.engine`: serve a GGUF model on the CPU with SGLang's worker contract.

    python -m helixflow.runtime.engine --model PATH --served-model-name NAME --host 127.0.0.1 --port P \
        [--threads N] [--api-key K] [--context-length N]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m helixflow.runtime.engine",
        description="HelixFlow CPU engine: llama.cpp behind SGLang's HTTP worker contract.",
    )
    parser.add_argument("--model", type=Path, required=True, help="a GGUF model file")
    parser.add_argument("--served-model-name", default=None, help="the model name clients use (default: file stem)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=30000)
    # llama.cpp's threads spin at barriers: on a small or shared machine a descheduled thread
    # costs far more than it brings (measured 10x slower with 2 threads on a busy 2-core box).
    parser.add_argument(
        "--threads", type=int, default=max(1, min(4, (os.cpu_count() or 2) // 2)), help="CPU threads for llama.cpp"
    )
    parser.add_argument("--context-length", type=int, default=0, help="context window (default: the model's)")
    parser.add_argument(
        "--api-key",
        default=os.environ.get("HELIXFLOW_ENGINE_API_KEY"),
        help="require 'Authorization: Bearer KEY' (default: $HELIXFLOW_ENGINE_API_KEY; /health and /metrics stay open)",
    )
    parser.add_argument("--log-level", default="warning", choices=["debug", "info", "warning", "error"])
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if not args.model.is_file():
        print(f"error: model file not found: {args.model}", file=sys.stderr)
        print(
            "hint: python -m helixflow.runtime.engine.tiny_model prints the path of a tiny test model", file=sys.stderr
        )
        return 2
    if not 0 < args.port < 65536 or args.threads < 1 or args.context_length < 0:
        print("error: --port must be 1-65535, --threads >= 1, --context-length >= 0", file=sys.stderr)
        return 2

    import uvicorn

    from helixflow.runtime.engine.core import LlamaEngine
    from helixflow.runtime.engine.server import EngineSettings, create_app

    settings = EngineSettings(
        model_path=args.model.resolve(),
        served_model_name=args.served_model_name or args.model.stem,
        threads=args.threads,
        context_length=args.context_length,
        api_key=args.api_key or None,
    )
    engine = LlamaEngine(
        settings.model_path,
        settings.served_model_name,
        threads=settings.threads,
        context_length=settings.context_length,
    )
    try:
        engine.load()  # before binding the port: a bad model file is a clean error, not a half-started server
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    uvicorn.run(
        create_app(settings, engine),
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        access_log=False,
        timeout_graceful_shutdown=2,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
