"""The inference core: one llama.cpp model, one generation at a time.

A llama.cpp context is not thread-safe and decodes one sequence here, so every
generation runs on a single dedicated thread; requests wait their turn in FIFO
order and the wait is reported honestly (`sglang:num_queue_reqs`,
`sglang:queue_time_seconds`). Tokens flow back to the event loop through an
asyncio queue, and a client that goes away cancels its generation (queued or
running) at the next token.
"""

from __future__ import annotations

import asyncio
import codecs
import random
import threading
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from helixflow.runtime.engine.metrics import EngineMetrics


class EngineError(Exception):
    """A request the engine cannot serve (bad input): the server answers 400."""


@dataclass(frozen=True)
class SamplingParams:
    max_tokens: int
    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = 0
    min_p: float = 0.0
    seed: int | None = None
    stop: tuple[str, ...] = ()
    frequency_penalty: float = 0.0
    presence_penalty: float = 0.0
    repetition_penalty: float = 1.0
    ignore_eos: bool = False


@dataclass
class Piece:
    """A slice of generated text; the last one carries `finish_reason`."""

    text: str
    finish_reason: str | None = None


@dataclass
class GenerationStats:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    first_token_at: float | None = None
    finished: bool = False


@dataclass
class _Job:
    tokens: list[int]
    params: SamplingParams
    enqueued_at: float
    emit: Callable[[Piece | BaseException | None], None]
    cancel: threading.Event = field(default_factory=threading.Event)
    stats: GenerationStats = field(default_factory=GenerationStats)


class LlamaEngine:
    """Owns the llama.cpp model. `load()` must be called before use.

    Raises EngineError (bad request) from `prepare_*`, RuntimeError when the
    model file cannot be loaded.
    """

    def __init__(self, model_path: Path, served_model_name: str, *, threads: int, context_length: int = 0) -> None:
        self.model_path = model_path
        self.served_model_name = served_model_name
        self.threads = threads
        self.requested_context = context_length
        self.metrics = EngineMetrics(served_model_name)
        self._llm: Any = None
        self._chat_format: Any = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="llama")

    # --- lifecycle -------------------------------------------------------------------
    def load(self) -> None:
        """Load the model (idempotent). Raises RuntimeError when it cannot be loaded."""
        if self._llm is not None:
            return
        import llama_cpp
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        if not self.model_path.is_file():
            raise RuntimeError(f"model file not found: {self.model_path}")
        try:
            self._llm = llama_cpp.Llama(
                model_path=str(self.model_path),
                n_ctx=self.requested_context,
                n_threads=self.threads,
                n_threads_batch=self.threads,
                verbose=False,
            )
        except ValueError as exc:  # llama-cpp-python's "Failed to load model from file"
            raise RuntimeError(f"cannot load {self.model_path}: {exc}") from exc
        template = self._llm.metadata.get("tokenizer.chat_template")
        if template:
            vocab = self._llm._model
            self._chat_format = Jinja2ChatFormatter(
                template=template,
                eos_token=self._token_text(vocab.token_eos()),
                bos_token=self._token_text(vocab.token_bos()),
            )

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)

    @property
    def context_length(self) -> int:
        return int(self._llm.n_ctx())

    @property
    def architecture(self) -> str:
        return str(self._llm.metadata.get("general.architecture", "unknown"))

    @property
    def vocab_size(self) -> int:
        return int(self._llm.n_vocab())

    def _token_text(self, token: int) -> str:
        if token < 0:
            return ""
        return bytes(self._llm.detokenize([token], special=True)).decode("utf-8", errors="replace")

    # --- request preparation (event loop thread; tokenizing is read-only on the vocab) ---
    def prepare_chat(self, messages: list[dict[str, Any]]) -> list[int]:
        if self._chat_format is None:
            raise EngineError("this model has no chat template; use /v1/completions")
        try:
            prompt = self._chat_format(messages=messages).prompt
        except Exception as exc:  # a template may raise on roles it does not support
            raise EngineError(f"cannot apply the chat template: {exc}") from exc
        # The template writes BOS itself when the model wants it.
        return list(self._llm.tokenize(prompt.encode("utf-8"), add_bos=False, special=True))

    def prepare_text(self, prompt: str) -> list[int]:
        return list(self._llm.tokenize(prompt.encode("utf-8"), add_bos=True, special=False))

    def check_budget(self, tokens: list[int], max_tokens: int | None) -> int:
        """The number of tokens the request may generate; EngineError when it cannot fit."""
        room = self.context_length - len(tokens)
        if not tokens:
            raise EngineError("the prompt is empty")
        if room <= 0:
            raise EngineError(
                f"the prompt has {len(tokens)} tokens; this model's context length is {self.context_length}"
            )
        if max_tokens is None:
            return room
        if max_tokens > room:
            raise EngineError(
                f"max_tokens={max_tokens} plus the prompt's {len(tokens)} tokens exceeds this model's "
                f"context length of {self.context_length}"
            )
        return max_tokens

    # --- generation ------------------------------------------------------------------
    async def generate(self, tokens: list[int], params: SamplingParams, stats: GenerationStats) -> AsyncIterator[Piece]:
        """Yield text pieces as they are decoded; stop early when the consumer goes away."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Piece | BaseException | None] = asyncio.Queue()

        def emit(item: Piece | BaseException | None) -> None:
            loop.call_soon_threadsafe(queue.put_nowait, item)

        job = _Job(tokens=tokens, params=params, enqueued_at=time.monotonic(), emit=emit, stats=stats)
        stats.prompt_tokens = len(tokens)
        self.metrics.queued.inc()
        # _run never raises (its errors come through the queue), so the future is not awaited.
        loop.run_in_executor(self._executor, self._run, job)
        try:
            while True:
                item = await queue.get()
                if item is None:
                    return
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            job.cancel.set()
            if not stats.finished:
                self.metrics.aborted.inc()

    def _run(self, job: _Job) -> None:
        """On the engine thread: decode one request, emitting pieces."""
        import llama_cpp

        metrics = self.metrics
        started = time.monotonic()
        metrics.queued.dec()
        metrics.queue_time.observe(started - job.enqueued_at)
        if job.cancel.is_set():
            job.emit(None)
            return
        metrics.running.inc()
        try:
            self._decode(job, llama_cpp)
        except BaseException as exc:
            job.emit(RuntimeError(f"generation failed: {exc}"))
        finally:
            metrics.running.dec()
            metrics.e2e_latency.observe(time.monotonic() - job.enqueued_at)

    def _decode(self, job: _Job, llama_cpp: Any) -> None:
        llm, params, stats, metrics = self._llm, job.params, job.stats, self.metrics
        # llama-cpp-python reuses its last seed for every sampler: without a fresh one, two
        # unseeded requests with the same prompt would sample the very same text.
        llm.set_seed(params.seed if params.seed is not None else random.getrandbits(31))
        vocab = llm._model.vocab
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        stops = _StopMatcher(params.stop)
        last_token_at: float | None = None
        finish = "length"
        metrics.prompt_tokens.inc(len(job.tokens))
        generator = llm.generate(
            job.tokens,
            top_k=params.top_k,
            top_p=params.top_p,
            min_p=params.min_p,
            temp=params.temperature,
            repeat_penalty=params.repetition_penalty,
            frequency_penalty=params.frequency_penalty,
            presence_penalty=params.presence_penalty,
        )
        for token in generator:
            if job.cancel.is_set():
                return
            if not params.ignore_eos and llama_cpp.llama_vocab_is_eog(vocab, token):
                finish = "stop"
                break
            stats.completion_tokens += 1
            metrics.generation_tokens.inc()
            now = time.monotonic()
            if last_token_at is not None:
                metrics.inter_token_latency.observe(now - last_token_at)
            last_token_at = now
            text, stopped = stops.feed(decoder.decode(bytes(llm.detokenize([token]))))
            if text:
                if stats.first_token_at is None:
                    stats.first_token_at = now
                    metrics.time_to_first_token.observe(now - job.enqueued_at)
                job.emit(Piece(text))
            if stopped:
                finish = "stop"
                break
            if stats.completion_tokens >= params.max_tokens or llm.n_tokens >= llm.n_ctx():
                break
        tail = "" if stops.stopped else stops.flush(decoder.decode(b"", final=True))
        stats.finished = True
        metrics.requests.inc()
        job.emit(Piece(tail, finish_reason=finish))
        job.emit(None)


class _StopMatcher:
    """Cuts the text at the first stop string, holding back a tail that may start one."""

    def __init__(self, stops: tuple[str, ...]) -> None:
        self.stops = tuple(s for s in stops if s)
        self.pending = ""
        self.stopped = False

    def feed(self, text: str) -> tuple[str, bool]:
        if not self.stops:
            return text, False
        self.pending += text
        for stop in self.stops:
            at = self.pending.find(stop)
            if at >= 0:
                self.stopped = True
                out, self.pending = self.pending[:at], ""
                return out, True
        hold = max((self._overlap(stop) for stop in self.stops), default=0)
        out = self.pending[: len(self.pending) - hold]
        self.pending = self.pending[len(self.pending) - hold :]
        return out, False

    def _overlap(self, stop: str) -> int:
        for size in range(min(len(stop) - 1, len(self.pending)), 0, -1):
            if self.pending.endswith(stop[:size]):
                return size
        return 0

    def flush(self, text: str) -> str:
        out, self.pending = self.pending + text, ""
        return out
