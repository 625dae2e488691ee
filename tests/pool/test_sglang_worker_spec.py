"""SGLangWorkerSpec: every option's rendering, and the validation a pod relies on."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from helixflow.runtime.pool.sglang_worker import API_KEY_ENV, SGLangWorkerSpec, key_launcher

pytestmark = pytest.mark.unit


def _flag(argv: list[str], flag: str) -> str:
    return argv[argv.index(flag) + 1]


def test_minimal_spec_renders_a_reachable_server() -> None:
    spec = SGLangWorkerSpec(model_path="Qwen/Qwen2.5-0.5B-Instruct")
    assert spec.command() == [
        "python3", "-m", "sglang.launch_server", "--model-path", "Qwen/Qwen2.5-0.5B-Instruct",
        "--host", "0.0.0.0", "--port", "30000", "--tp-size", "1", "--enable-metrics", "--log-level", "info",
    ]  # fmt: skip
    assert spec.env() == {"HF_HOME": "/models/hf"}
    assert spec.secret_env() == {}


def test_every_option_renders() -> None:
    spec = SGLangWorkerSpec(
        model_path="/models/llama", served_model_name="llama-70b", host="::", port=31000, gpus=8, tp_size=4,
        dp_size=2, mem_fraction_static=0.85, context_length=32768, max_running_requests=256,
        max_queued_requests=1024, chunked_prefill_size=8192, quantization="fp8", kv_cache_dtype="fp8_e5m2",
        api_key="s3cret", trust_remote_code=True, log_level="warning", watchdog_timeout=600, hf_home="/cache/hf",
        hf_offline=True, model_uri="s3://bucket/models/llama", extra_args=["--enable-torch-compile"],
        extra_env={"NCCL_DEBUG": "WARN"},
    )  # fmt: skip
    argv = spec.command(python="python")
    expected = {
        "--model-path": "/models/llama", "--served-model-name": "llama-70b", "--host": "::", "--port": "31000",
        "--tp-size": "4", "--dp-size": "2", "--mem-fraction-static": "0.85", "--context-length": "32768",
        "--max-running-requests": "256", "--max-queued-requests": "1024", "--chunked-prefill-size": "8192",
        "--quantization": "fp8", "--kv-cache-dtype": "fp8_e5m2",
        "--log-level": "warning", "--watchdog-timeout": "600",
    }  # fmt: skip
    for flag, value in expected.items():
        assert _flag(argv, flag) == value, flag
    assert argv[:3] == ["python", "-c", key_launcher()]
    assert "--enable-metrics" in argv and "--trust-remote-code" in argv
    assert not any(a.startswith("--api-key") for a in argv), "not even as a $(VAR) the kubelet would expand"
    assert argv[-1] == "--enable-torch-compile"
    assert "s3cret" not in " ".join(argv), "the key goes through a Secret, never the command line"
    assert spec.secret_env()[API_KEY_ENV].get_secret_value() == "s3cret"
    assert spec.env() == {
        "HF_HOME": "/cache/hf", "HF_HUB_OFFLINE": "1", "NCCL_DEBUG": "WARN",
        "HELIXFLOW_MODEL_URI": "s3://bucket/models/llama", "HELIXFLOW_MODEL_DIR": "/models/llama",
    }  # fmt: skip


def test_off_switches_and_derived_dp() -> None:
    spec = SGLangWorkerSpec(model_path="m", gpus=4, tp_size=2, enable_metrics=False, chunked_prefill_size=-1)
    argv = spec.command()
    assert spec.effective_dp_size == 2 and _flag(argv, "--dp-size") == "2"
    assert "--enable-metrics" not in argv and "--kv-cache-dtype" not in argv
    assert _flag(argv, "--chunked-prefill-size") == "-1"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"gpus": 4, "tp_size": 3}, "must divide the pod's GPU count"),
        ({"gpus": 4, "tp_size": 2, "dp_size": 1}, "must equal the pod's GPU count"),
        ({"mem_fraction_static": 1.2}, "less than 1"),
        ({"chunked_prefill_size": 0}, "-1 \\(disabled\\)"),
        ({"quantization": "int3"}, "fp8"),
        ({"kv_cache_dtype": "int4"}, "fp8_e5m2"),
        ({"model_uri": "http://x/y"}, "s3:// or gs://"),
        ({"model_uri": "gs://b/m"}, "local directory"),
        ({"extra_args": ["--tp-size=2"]}, "field of the worker spec"),
        ({"extra_env": {"HF_HOME": "/x"}}, "manages"),
        ({"model": "m"}, "Extra inputs"),
        ({"model_path": ""}, "at least 1 character"),
    ],
)
def test_bad_values_are_refused(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        SGLangWorkerSpec.model_validate({"model_path": "m", **fields})


def test_no_web_framework_imported() -> None:
    """The Kubernetes components import this module: it must stay free of FastAPI."""
    import subprocess
    import sys

    code = "import sys, helixflow.runtime.pool.sglang_worker; print('fastapi' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.strip() == "False"
