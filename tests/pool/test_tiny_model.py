"""The tiny GGUF model: written fast, idempotently, with the keys llama.cpp needs."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from helixflow.runtime.engine import tiny_model

pytestmark = pytest.mark.unit


def test_writes_once_and_is_deterministic(tmp_path: Path) -> None:
    first = tmp_path / "a" / "tiny.gguf"
    started = time.monotonic()
    assert tiny_model.ensure_tiny_model(first) == first
    assert time.monotonic() - started < 5
    mtime = first.stat().st_mtime_ns
    assert tiny_model.ensure_tiny_model(first) == first
    assert first.stat().st_mtime_ns == mtime, "a second call must not rewrite the file"
    second = tmp_path / "b.gguf"
    tiny_model.write_tiny_model(second)
    assert first.read_bytes() == second.read_bytes(), "seeded weights: the same file on every machine"
    assert not list(tmp_path.rglob("*.tmp"))


def test_metadata_llama_cpp_requires(tmp_path: Path) -> None:
    import gguf

    path = tiny_model.ensure_tiny_model(tmp_path / "tiny.gguf")
    reader = gguf.GGUFReader(path)
    keys = set(reader.fields)
    for key in (
        "llama.context_length", "llama.embedding_length", "llama.block_count", "llama.feed_forward_length",
        "llama.attention.head_count", "llama.attention.head_count_kv", "llama.rope.dimension_count",
        "llama.attention.layer_norm_rms_epsilon", "tokenizer.ggml.model", "tokenizer.ggml.tokens",
        "tokenizer.ggml.scores", "tokenizer.ggml.token_type", "tokenizer.chat_template",
    ):  # fmt: skip
        assert key in keys, key
    names = {t.name for t in reader.tensors}
    assert {"token_embd.weight", "output.weight", "output_norm.weight", "blk.1.ffn_down.weight"} <= names


def test_default_location_honours_helixflow_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HELIXFLOW_CACHE", str(tmp_path))
    assert tiny_model.default_model_dir() == tmp_path / "models"
    assert tiny_model.ensure_tiny_model() == tmp_path / "models" / tiny_model.TINY_MODEL_NAME


def test_command_prints_the_path(tmp_path: Path) -> None:
    out = tmp_path / "cli.gguf"
    done = subprocess.run(
        [sys.executable, "-m", "helixflow.runtime.engine.tiny_model", "--out", str(out)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(out)
    assert out.stat().st_size > 1_000_000


def test_unwritable_target_is_a_clean_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    done = subprocess.run(
        [sys.executable, "-m", "helixflow.runtime.engine.tiny_model", "--out", str(blocker / "x.gguf")],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.startswith("error: cannot write the tiny model")
    assert "Traceback" not in done.stderr
