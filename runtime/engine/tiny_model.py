"""A tiny llama-architecture GGUF model, written offline with the `gguf` package.

The weights are random (seeded, so the file is identical on every machine): the
model exercises the real inference path (tokenizer, chat template, attention,
sampling, streaming) but its output text is NOT meaningful, just strings of
English-looking word pieces. Serve any real GGUF file instead for real answers.

Two guarantees the tests and the pool rely on:
- it never emits a control token (no end-of-sequence, so a request always
  produces tokens, up to `max_tokens`), a byte token or `<unk>`: every generated
  piece is printable ASCII, so the output is always valid UTF-8 and streams
  without held-back bytes;
- writing it is fast (~0.3 s) and idempotent.

How the suppression works: channel 0 of the residual stream is a constant (every
token embedding has 1.0 there and no layer writes to it), so after the final
RMS norm it is always positive; the output matrix has a large negative weight on
that channel for every forbidden token, i.e. a built-in logit bias.

    python -m helixflow.runtime.engine.tiny_model [--out PATH]   # prints the path
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

# Bump when the vocabulary or weights change: the version is in the file name,
# so an old cached file is never mistaken for the current one.
TINY_MODEL_VERSION = 1
TINY_MODEL_NAME = f"helixflow-tiny-v{TINY_MODEL_VERSION}.gguf"

EMBED = 128
LAYERS = 2
HEADS = 4
FEED_FORWARD = 384
CONTEXT = 512
SEED = 20260601

SPACE = "\u2581"  # SentencePiece's word-boundary marker
SPECIAL_TOKENS = ["<unk>", "<s>", "</s>", "<|im_start|>", "<|im_end|>"]
UNK_ID, BOS_ID, EOS_ID, EOT_ID = 0, 1, 2, 4
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)
WORDS = (  # common English words; every prefix becomes a vocabulary piece
    "the", "of", "and", "to", "in", "is", "you", "that", "it", "he", "was", "for", "on", "are", "as", "with",
    "his", "they", "at", "be", "this", "have", "from", "or", "one", "had", "by", "word", "but", "not",
    "what", "all", "were", "we", "when", "your", "can", "said", "there", "use", "an", "each", "which", "she",
    "do", "how", "their", "if", "will", "up", "other", "about", "out", "many", "then", "them", "these", "so",
    "some", "her", "would", "make", "like", "him", "into", "time", "has", "look", "two", "more", "write",
    "go", "see", "number", "no", "way", "could", "people", "my", "than", "first", "water", "been", "call",
    "who", "oil", "its", "now", "find", "long", "down", "day", "did", "get", "come", "made", "may", "part",
    "model", "token", "stream", "hello", "world", "server", "cluster", "helix", "flow", "inference",
    "request",
)  # fmt: skip


def default_model_dir() -> Path:
    """`$HELIXFLOW_CACHE/models`, else `~/.cache/helixflow/models` (honouring XDG_CACHE_HOME)."""
    cache = os.environ.get("HELIXFLOW_CACHE")
    if cache:
        return Path(cache) / "models"
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".cache"
    return base / "helixflow" / "models"


def ensure_tiny_model(path: Path | None = None) -> Path:
    """Return the tiny model's path, writing it first if it is not there.

    Raises OSError when the file cannot be written.
    """
    target = path if path is not None else default_model_dir() / TINY_MODEL_NAME
    if target.is_file() and target.stat().st_size > 0:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    # Write beside the target and rename: a concurrent reader never sees half a file.
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        write_tiny_model(tmp)
        tmp.replace(target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


def _vocabulary() -> tuple[list[str], list[float], list[int]]:
    """Pieces, scores and token types, SentencePiece style (see cpu-engine.md)."""
    import gguf

    tokens: list[str] = list(SPECIAL_TOKENS)
    types: list[int] = [int(gguf.TokenType.UNKNOWN)] + [int(gguf.TokenType.CONTROL)] * (len(SPECIAL_TOKENS) - 1)
    tokens += [f"<0x{b:02X}>" for b in range(256)]
    types += [int(gguf.TokenType.BYTE)] * 256
    pieces: list[str] = [SPACE] + [chr(c) for c in range(0x21, 0x7F)]
    seen = set(pieces)
    for word in WORDS:
        # Every prefix of "▁word" is a piece, so the tokenizer reaches it by pairwise merges.
        full = SPACE + word
        for end in range(2, len(full) + 1):
            if full[:end] not in seen:
                seen.add(full[:end])
                pieces.append(full[:end])
    tokens += pieces
    types += [int(gguf.TokenType.NORMAL)] * len(pieces)
    # Longer pieces score higher so merges prefer them; control/byte tokens score 0.
    scores = [0.0] * (len(SPECIAL_TOKENS) + 256) + [float(len(p)) - 10.0 for p in pieces]
    return tokens, scores, types


def write_tiny_model(path: Path) -> None:
    """Write the tiny model to `path` (overwriting it). Raises OSError on write failure."""
    import gguf
    import numpy as np

    tokens, scores, types = _vocabulary()
    vocab = len(tokens)
    head_dim = EMBED // HEADS
    rng = np.random.default_rng(SEED)

    def matrix(rows: int, cols: int, scale: float) -> Any:
        return (rng.standard_normal((rows, cols)) * scale).astype(np.float32)

    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_name("helixflow-tiny")
    writer.add_description("Random weights for offline tests; output is not meaningful.")
    writer.add_context_length(CONTEXT)
    writer.add_embedding_length(EMBED)
    writer.add_block_count(LAYERS)
    writer.add_feed_forward_length(FEED_FORWARD)
    writer.add_head_count(HEADS)
    writer.add_head_count_kv(HEADS)
    writer.add_rope_dimension_count(head_dim)
    writer.add_rope_freq_base(10000.0)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_vocab_size(vocab)
    writer.add_file_type(gguf.LlamaFileType.ALL_F32)

    writer.add_tokenizer_model("llama")
    writer.add_token_list(tokens)
    writer.add_token_scores(scores)
    writer.add_token_types(types)
    writer.add_unk_token_id(UNK_ID)
    writer.add_bos_token_id(BOS_ID)
    writer.add_eos_token_id(EOS_ID)
    writer.add_eot_token_id(EOT_ID)
    writer.add_add_bos_token(True)
    writer.add_add_eos_token(False)
    writer.add_chat_template(CHAT_TEMPLATE)

    embeddings = matrix(vocab, EMBED, 0.5)
    embeddings[:, 0] = 1.0  # the constant channel (see the module docstring)
    writer.add_tensor("token_embd.weight", embeddings)
    for layer in range(LAYERS):
        prefix = f"blk.{layer}"
        attn_out = matrix(EMBED, EMBED, 0.05)
        ffn_down = matrix(EMBED, FEED_FORWARD, 0.05)
        attn_out[0, :] = 0.0  # nothing writes to the constant channel
        ffn_down[0, :] = 0.0
        writer.add_tensor(f"{prefix}.attn_norm.weight", np.ones(EMBED, dtype=np.float32))
        writer.add_tensor(f"{prefix}.attn_q.weight", matrix(EMBED, EMBED, 0.1))
        writer.add_tensor(f"{prefix}.attn_k.weight", matrix(HEADS * head_dim, EMBED, 0.1))
        writer.add_tensor(f"{prefix}.attn_v.weight", matrix(HEADS * head_dim, EMBED, 0.1))
        writer.add_tensor(f"{prefix}.attn_output.weight", attn_out)
        writer.add_tensor(f"{prefix}.ffn_norm.weight", np.ones(EMBED, dtype=np.float32))
        writer.add_tensor(f"{prefix}.ffn_gate.weight", matrix(FEED_FORWARD, EMBED, 0.1))
        writer.add_tensor(f"{prefix}.ffn_up.weight", matrix(FEED_FORWARD, EMBED, 0.1))
        writer.add_tensor(f"{prefix}.ffn_down.weight", ffn_down)
    writer.add_tensor("output_norm.weight", np.ones(EMBED, dtype=np.float32))
    output = matrix(vocab, EMBED, 0.2)
    forbidden = np.array([t != gguf.TokenType.NORMAL for t in types])
    output[:, 0] = np.where(forbidden, -200.0, 0.0)
    writer.add_tensor("output.weight", output)

    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m helixflow.runtime.engine.tiny_model",
        description="Write HelixFlow's tiny offline test model (random weights; output is not meaningful).",
    )
    parser.add_argument(
        "--out", type=Path, default=None, help=f"file to write (default: <cache>/models/{TINY_MODEL_NAME})"
    )
    args = parser.parse_args(argv)
    try:
        path = ensure_tiny_model(args.out)
    except OSError as exc:
        print(f"error: cannot write the tiny model: {exc}", file=sys.stderr)
        return 1
    print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
