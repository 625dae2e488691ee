"""An SGLang GPU worker (sglang 0.5.23) as a typed spec: the exact command and environment of its pod.

Free of FastAPI and Pulumi so the Kubernetes components can import it. The API
key never appears in any command line: SGLang takes it only as `--api-key`, so
with a key the container runs a few lines of Python (`KEY_LAUNCHER`) that move
it from the environment (a Secret, see `secret_env`) into the server's argument
list in-process; `ps` in the pod, or on the node, shows no key.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

SGLANG_VERSION = "0.5.23"
Quantization = Literal[
    "fp8", "awq", "awq_marlin", "gptq", "gptq_marlin", "marlin", "bitsandbytes", "gguf", "modelopt", "w8a8_int8",
    "w8a8_fp8", "compressed-tensors", "mxfp4",
]  # fmt: skip
KvCacheDtype = Literal["auto", "fp8_e5m2", "fp8_e4m3", "bf16"]
API_KEY_ENV = "SGLANG_API_KEY"
MODEL_URI_ENV = "HELIXFLOW_MODEL_URI"
MODEL_DIR_ENV = "HELIXFLOW_MODEL_DIR"
SERVER_MODULE = "sglang.launch_server"


def key_launcher(module: str = SERVER_MODULE) -> str:
    """`python3 -c` source that runs `module` as `-m` would, with --api-key taken from API_KEY_ENV (which it
    removes from the environment, so the server's child processes do not inherit it)."""
    return (
        "import os, runpy, sys\n"
        f"key = os.environ.pop({API_KEY_ENV!r}, '')\n"
        f"if not key: sys.exit('error: {API_KEY_ENV} (the worker API key) is not set or empty')\n"
        "sys.argv.append('--api-key=' + key)\n"  # one argument: a key may start with "-"
        f"runpy.run_module({module!r}, run_name='__main__', alter_sys=True)\n"
    )


# Flags this spec renders itself: passing them again in extra_args would be ambiguous.
_OWNED_FLAGS = frozenset(
    {
        "--model-path", "--served-model-name", "--host", "--port", "--tp-size", "--tp", "--dp-size", "--dp",
        "--mem-fraction-static", "--context-length", "--max-running-requests", "--max-queued-requests",
        "--chunked-prefill-size", "--quantization", "--kv-cache-dtype", "--enable-metrics", "--api-key",
        "--trust-remote-code", "--log-level", "--watchdog-timeout",
    }
)  # fmt: skip


class SGLangWorkerSpec(BaseModel):
    """One SGLang server process on `gpus` GPUs. Raises pydantic.ValidationError on bad values."""

    model_config = ConfigDict(extra="forbid")

    model_path: str = Field(
        min_length=1, description="Hugging Face id, or a local directory (e.g. synced from the bucket)"
    )
    served_model_name: str | None = None
    host: str = "0.0.0.0"  # SGLang defaults to 127.0.0.1, unreachable from outside the pod
    port: int = Field(default=30000, ge=1, le=65535)
    gpus: int = Field(default=1, ge=1, le=64, description="GPUs the pod gets (nvidia.com/gpu limit)")
    tp_size: int = Field(default=1, ge=1)
    dp_size: int | None = Field(default=None, ge=1, description="default: gpus // tp_size")
    mem_fraction_static: float | None = Field(default=None, gt=0.0, lt=1.0)
    context_length: int | None = Field(default=None, ge=1)
    max_running_requests: int | None = Field(default=None, ge=1)
    max_queued_requests: int | None = Field(default=None, ge=1)
    chunked_prefill_size: int | None = Field(default=None, description="tokens per prefill chunk; -1 disables")
    quantization: Quantization | None = None
    kv_cache_dtype: KvCacheDtype = "auto"
    enable_metrics: bool = True
    api_key: SecretStr | None = None
    trust_remote_code: bool = False
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    watchdog_timeout: int | None = Field(default=None, ge=1)
    hf_home: str = "/models/hf"
    hf_offline: bool = False
    model_uri: str | None = Field(default=None, description="s3:// or gs:// prefix synced into model_path before start")
    shm_size: str = "10Gi"
    extra_args: list[str] = Field(default_factory=list)
    extra_env: dict[str, str] = Field(default_factory=dict)

    @field_validator("chunked_prefill_size")
    @classmethod
    def _chunked(cls, size: int | None) -> int | None:
        if size is not None and size != -1 and size < 1:
            raise ValueError("chunked_prefill_size must be -1 (disabled) or a positive number of tokens")
        return size

    @field_validator("model_uri")
    @classmethod
    def _uri(cls, uri: str | None) -> str | None:
        if uri is not None and not uri.startswith(("s3://", "gs://")):
            raise ValueError(f"model_uri {uri!r} must start with s3:// or gs://")
        return uri

    @field_validator("extra_args")
    @classmethod
    def _extra(cls, args: list[str]) -> list[str]:
        for arg in args:
            flag = arg.split("=", 1)[0]
            if flag in _OWNED_FLAGS:
                raise ValueError(f"{flag} is a field of the worker spec; set it there instead of in extra_args")
        return args

    @field_validator("extra_env")
    @classmethod
    def _env(cls, env: dict[str, str]) -> dict[str, str]:
        reserved = {"HF_HOME", "HF_HUB_OFFLINE", API_KEY_ENV, MODEL_URI_ENV, MODEL_DIR_ENV}
        clash = sorted(reserved & env.keys())
        if clash:
            raise ValueError(f"extra_env sets {', '.join(clash)}, which the worker spec manages")
        return env

    @model_validator(mode="after")
    def _parallelism(self) -> SGLangWorkerSpec:
        if self.gpus % self.tp_size:
            raise ValueError(f"tp_size={self.tp_size} must divide the pod's GPU count ({self.gpus})")
        if self.dp_size is not None and self.tp_size * self.dp_size != self.gpus:
            raise ValueError(
                f"tp_size * dp_size = {self.tp_size * self.dp_size} must equal the pod's GPU count ({self.gpus})"
            )
        if self.model_uri is not None and not self.model_path.startswith("/"):
            raise ValueError("with model_uri, model_path must be the local directory the model is synced into")
        return self

    @property
    def effective_dp_size(self) -> int:
        return self.dp_size if self.dp_size is not None else self.gpus // self.tp_size

    def command(self, python: str = "python3") -> list[str]:
        """The container's argv: `python3 -m sglang.launch_server …`, or with a key `python3 -c KEY_LAUNCHER …`."""
        start = ["-c", key_launcher()] if self.api_key is not None else ["-m", SERVER_MODULE]
        args = [python, *start, "--model-path", self.model_path]
        if self.served_model_name:
            args += ["--served-model-name", self.served_model_name]
        args += ["--host", self.host, "--port", str(self.port), "--tp-size", str(self.tp_size)]
        if self.effective_dp_size > 1:
            args += ["--dp-size", str(self.effective_dp_size)]
        optional: list[tuple[str, object]] = [
            ("--mem-fraction-static", self.mem_fraction_static),
            ("--context-length", self.context_length),
            ("--max-running-requests", self.max_running_requests),
            ("--max-queued-requests", self.max_queued_requests),
            ("--chunked-prefill-size", self.chunked_prefill_size),
            ("--quantization", self.quantization),
            ("--watchdog-timeout", self.watchdog_timeout),
        ]
        for flag, value in optional:
            if value is not None:
                args += [flag, str(value)]
        if self.kv_cache_dtype != "auto":
            args += ["--kv-cache-dtype", self.kv_cache_dtype]
        if self.enable_metrics:
            args.append("--enable-metrics")
        if self.trust_remote_code:
            args.append("--trust-remote-code")
        args += ["--log-level", self.log_level]
        return args + list(self.extra_args)

    def env(self) -> dict[str, str]:
        """Plain (non-secret) environment variables of the container."""
        env = {"HF_HOME": self.hf_home, **self.extra_env}
        if self.hf_offline:
            env["HF_HUB_OFFLINE"] = "1"
        if self.model_uri is not None:
            env[MODEL_URI_ENV] = self.model_uri
            env[MODEL_DIR_ENV] = self.model_path
        return env

    def secret_env(self) -> dict[str, SecretStr]:
        """Variables that belong in a Kubernetes Secret; the launcher reads the key from there."""
        return {API_KEY_ENV: self.api_key} if self.api_key is not None else {}
