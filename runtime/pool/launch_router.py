"""`python -m helixflow.runtime.pool.launch_router --api-key-env VAR ROUTER_ARGS...`: sglang-router with its key
read from the environment.

sglang-router takes its bearer key only as `--api-key`, where `ps` (and /proc/PID/cmdline) shows it to every
user of the machine or container. This launcher reads the key from the named variable, removes it from the
environment, and hands it to the router's own argument parser in-process, so the key is never part of any
process's command line. Exit 2 with one line on stderr when the variable is missing or a key is passed as an
argument.
"""

from __future__ import annotations

import argparse
import os
import sys

from sglang_router.launch_router import launch_router, parse_router_args


def router_argv(argv: list[str], environ: dict[str, str] | os._Environ[str]) -> list[str]:
    """The router's arguments with the key from the environment appended; raises ValueError on misuse."""
    own = argparse.ArgumentParser(add_help=False, allow_abbrev=False)  # "--api-key" is not "--api-key-env"
    own.add_argument("--api-key-env", required=True)
    known, rest = own.parse_known_args(argv)
    if any(arg == "--api-key" or arg.startswith("--api-key=") for arg in rest):
        raise ValueError("the router key must come from the environment (--api-key-env VAR), not the command line")
    key = environ.pop(known.api_key_env, None)
    if not key:
        raise ValueError(f"environment variable {known.api_key_env} (the router's API key) is not set or empty")
    # One argument, "--api-key=KEY": a key that starts with "-" would read as an option otherwise.
    return [*rest, f"--api-key={key}"]


def main(argv: list[str] | None = None) -> int:
    try:
        args = router_argv(list(sys.argv[1:] if argv is None else argv), os.environ)
    except ValueError as err:
        sys.stderr.write(f"error: {err}\n")
        return 2
    launch_router(parse_router_args(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
