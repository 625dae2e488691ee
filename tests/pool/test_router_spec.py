"""RouterSpec renders flags the installed sglang-router accepts, with failover-tuned defaults."""

from __future__ import annotations

import subprocess
import sys

import pytest
from pydantic import ValidationError

from helixflow.runtime.pool.router import ROUTER_API_KEY_ENV, RouterSpec, ServiceDiscovery

pytestmark = pytest.mark.unit


def _flag(argv: list[str], flag: str) -> str:
    return argv[argv.index(flag) + 1]


def test_defaults_render_the_failover_settings() -> None:
    argv = RouterSpec(worker_urls=["http://127.0.0.1:1/", "http://127.0.0.1:2"]).argv(python="py")
    assert argv[:3] == ["py", "-m", "sglang_router.launch_router"]
    assert _flag(argv, "--policy") == "cache_aware"
    assert argv[argv.index("--worker-urls") + 1 : argv.index("--worker-urls") + 3] == [
        "http://127.0.0.1:1",
        "http://127.0.0.1:2",
    ]
    assert _flag(argv, "--health-check-interval-secs") == "2"
    assert _flag(argv, "--health-failure-threshold") == "2"
    assert _flag(argv, "--retry-max-retries") == "5"
    assert _flag(argv, "--prometheus-host") == "127.0.0.1"
    assert not any(a.startswith("--api-key") for a in argv) and "--service-discovery" not in argv


def test_dead_worker_noticed_within_five_seconds_by_default() -> None:
    assert RouterSpec().worst_case_detection_s <= 5


def test_every_option_renders() -> None:
    spec = RouterSpec(
        host="0.0.0.0", port=8082, policy="round_robin", api_key="k3y", prometheus_host="0.0.0.0",
        prometheus_port=9100, health_check_interval_secs=3, health_failure_threshold=4,
        health_success_threshold=2, health_check_timeout_secs=2, health_check_endpoint="/health_generate",
        retry_max_retries=7, retry_initial_backoff_ms=10, retry_max_backoff_ms=500, cb_failure_threshold=9,
        cb_success_threshold=4, cb_timeout_duration_secs=30, request_timeout_secs=120,
        worker_startup_timeout_secs=900, worker_startup_check_interval=5, max_concurrent_requests=256,
        tokenizer_path="/models/tok", model_path="/models/m", log_level="debug",
        service_discovery=ServiceDiscovery(selector={"app": "sglang", "tier": "gpu"}, namespace="inf", port=30001),
        extra_args=["--cache-threshold", "0.5"],
    )  # fmt: skip
    argv = spec.argv()
    expected = {
        "--host": "0.0.0.0", "--port": "8082", "--policy": "round_robin",
        "--prometheus-host": "0.0.0.0", "--prometheus-port": "9100", "--health-check-interval-secs": "3",
        "--health-failure-threshold": "4", "--health-success-threshold": "2", "--health-check-timeout-secs": "2",
        "--health-check-endpoint": "/health_generate", "--retry-max-retries": "7", "--retry-initial-backoff-ms": "10",
        "--retry-max-backoff-ms": "500", "--cb-failure-threshold": "9", "--cb-success-threshold": "4",
        "--cb-timeout-duration-secs": "30", "--request-timeout-secs": "120", "--worker-startup-timeout-secs": "900",
        "--worker-startup-check-interval": "5", "--max-concurrent-requests": "256", "--tokenizer-path": "/models/tok",
        "--model-path": "/models/m", "--log-level": "debug", "--service-discovery-port": "30001",
        "--service-discovery-namespace": "inf", "--cache-threshold": "0.5",
    }  # fmt: skip
    for flag, value in expected.items():
        assert _flag(argv, flag) == value, flag
    assert "--service-discovery" in argv and not any(a.startswith("--api-key=") for a in argv)
    assert argv[1:5] == ["-m", "helixflow.runtime.pool.launch_router", "--api-key-env", ROUTER_API_KEY_ENV]
    assert spec.env() == {ROUTER_API_KEY_ENV: "k3y"} and "k3y" not in " ".join(argv)
    assert argv[argv.index("--selector") + 1 : argv.index("--selector") + 3] == ["app=sglang", "tier=gpu"]
    assert "k3y" not in repr(spec), "the key must not leak into logs"
    assert spec.url == "http://127.0.0.1:8082"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"worker_urls": ["127.0.0.1:3000"]}, "must start with http"),
        ({"policy": "fastest"}, "cache_aware"),
        ({"port": 29000}, "both 29000"),
        ({"health_check_endpoint": "health"}, "must start with '/'"),
        ({"retry_initial_backoff_ms": 100, "retry_max_backoff_ms": 10}, "retry_max_backoff_ms"),
        ({"health_check_interval": 2}, "Extra inputs"),
        ({"port": 0}, "greater than or equal to 1"),
        ({"api_key": "k", "api_key_env": "K"}, "not both"),
        ({"api_key_env": "1-bad"}, "pattern"),
    ],
)
def test_bad_values_are_refused(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        RouterSpec.model_validate(fields)


def test_installed_router_accepts_every_rendered_flag() -> None:
    """argparse of the real launcher: an unknown or misspelt flag fails here, not in production."""
    spec = RouterSpec(
        worker_urls=["http://127.0.0.1:1"], api_key="k", tokenizer_path="/tmp/tok", model_path="/tmp/m",
        service_discovery=ServiceDiscovery(selector={"app": "x"}, namespace="n"),
    )  # fmt: skip
    code = (
        "import sys; from sglang_router.router_args import RouterArgs; import argparse\n"
        "p = argparse.ArgumentParser(); RouterArgs.add_cli_args(p)\n"
        "ns = p.parse_args(sys.argv[1:]); print(RouterArgs.from_cli_args(ns).policy)"
    )
    argv = spec.argv()
    router_args = [*argv[argv.index("--api-key-env") + 2 :], "--api-key=k"]  # what the launcher hands on
    done = subprocess.run(
        [sys.executable, "-c", code, *router_args], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "cache_aware"
