"""The router's and the SGLang worker's API keys travel through the environment, never a command line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from helixflow.runtime.pool.launch_router import router_argv
from helixflow.runtime.pool.sglang_worker import API_KEY_ENV, key_launcher

pytestmark = pytest.mark.unit


def test_router_launcher_moves_the_key_from_the_environment_into_the_arguments() -> None:
    environ = {"POOL_KEY": "-starts-with-a-dash", "OTHER": "x"}
    assert router_argv(["--api-key-env", "POOL_KEY", "--port", "1"], environ) == [
        "--port", "1", "--api-key=-starts-with-a-dash"]  # fmt: skip
    assert environ == {"OTHER": "x"}, "the key leaves the environment the router's children would inherit"


@pytest.mark.parametrize(
    ("argv", "environ", "message"),
    [
        (["--api-key-env", "K", "--api-key", "inline"], {"K": "k"}, "not the command line"),
        (["--api-key-env", "K", "--api-key=inline"], {"K": "k"}, "not the command line"),
        (["--api-key-env", "K"], {}, "K .* is not set"),
        (["--api-key-env", "K"], {"K": ""}, "K .* is not set"),
    ],
)
def test_router_launcher_refuses_misuse(argv: list[str], environ: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        router_argv(argv, environ)


def test_router_launcher_exits_with_one_line_when_the_key_is_missing() -> None:
    env = {k: v for k, v in os.environ.items() if k != "NO_SUCH_KEY"}
    argv = [sys.executable, "-m", "helixflow.runtime.pool.launch_router", "--api-key-env", "NO_SUCH_KEY"]
    done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=60, check=False)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "error: environment variable NO_SUCH_KEY (the router's API key) is not set or empty"]


def test_worker_launcher_hands_the_key_to_the_server_in_process(tmp_path: Path) -> None:
    # SGLang needs a GPU, so a stand-in module takes the server's place and reports what it was given.
    (tmp_path / "standin_server.py").write_text(
        "import json, os, sys\n"
        "cmdline = open('/proc/self/cmdline', 'rb').read().decode()\n"
        f"print(json.dumps({{'argv': sys.argv[1:], 'env': os.environ.get({API_KEY_ENV!r}), 'cmdline': cmdline}}))\n"
    )
    key = "worker-s3cret-key"
    env = {**os.environ, API_KEY_ENV: key, "PYTHONPATH": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", key_launcher("standin_server"), "--model-path", "m"],
                          capture_output=True, text=True, env=env, timeout=60, check=True)  # fmt: skip
    seen = json.loads(done.stdout)
    assert seen["argv"] == ["--model-path", "m", f"--api-key={key}"]
    assert seen["env"] is None, "children of the server do not inherit the key"
    assert key not in seen["cmdline"] and "--model-path" in seen["cmdline"]


def test_worker_launcher_refuses_to_start_without_its_key(tmp_path: Path) -> None:
    (tmp_path / "standin_server.py").write_text("print('started')\n")
    env = {k: v for k, v in os.environ.items() if k != API_KEY_ENV} | {"PYTHONPATH": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", key_launcher("standin_server")], capture_output=True, text=True,
                          env=env, timeout=60, check=False)  # fmt: skip
    assert done.returncode == 1 and "started" not in done.stdout
    assert f"{API_KEY_ENV} (the worker API key) is not set" in done.stderr
