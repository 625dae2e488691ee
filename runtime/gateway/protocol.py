"""Validation of OpenAI request bodies: only what the gateway needs, the rest goes to the pool untouched."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from helixflow.runtime.common.errors import ApiError

MAX_BODY_BYTES = 8 * 1024 * 1024
# Choices a request may ask for (``n``, ``best_of``): OpenAI's own cap is 128; each one is generated, billed and
# reserved against the tenant's token budget up front.
MAX_CHOICES = 16
# Prompt tokens are reserved before the pool has counted them: one per 3 bytes of the body, which errs high for
# English (about 4 characters a token, and the JSON around the text) and is about right for CJK text.
PROMPT_BYTES_PER_TOKEN = 3


@dataclass(slots=True)
class InferenceRequest:
    body: dict[str, Any]
    model: str
    stream: bool
    batch_size: int
    deterministic: bool
    wants_usage_chunk: bool
    max_tokens: int | None = None  # the larger of max_tokens and max_completion_tokens, if given
    choices: int = 1  # sequences generated: prompts x max(n, best_of)
    wants_continuous_usage: bool = False  # the client asked for the usage in every chunk itself

    def reservation(self, body_bytes: int, context_length: int) -> int:
        """Tokens to hold against the budget while the request runs: the prompt (estimated) and the most
        every choice may generate."""
        limit = self.max_tokens if self.max_tokens is not None else context_length
        return prompt_estimate(body_bytes) + self.choices * limit


def prompt_estimate(body_bytes: int) -> int:
    """Prompt tokens guessed from the body's size, before (or without) the pool's count."""
    return body_bytes // PROMPT_BYTES_PER_TOKEN + 1


def _bad(message: str, param: str | None = None) -> ApiError:
    return ApiError(400, message, param=param, code="invalid_request")


def parse_body(raw: bytes) -> dict[str, Any]:
    if not raw:
        raise _bad("the request body is empty: send a JSON object")
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as err:
        raise _bad(f"the request body is not valid JSON: {err.msg}") from err
    if not isinstance(body, dict):
        raise _bad("the request body must be a JSON object")
    return body


def _number(body: dict[str, Any], name: str, low: float, high: float) -> float | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise _bad(f"'{name}' must be a number between {low:g} and {high:g}", name)
    return float(value)


def _integer(body: dict[str, Any], name: str, low: int, high: int | None = None) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < low or (high is not None and value > high):
        raise _bad(f"'{name}' must be an integer >= {low}" + (f" and <= {high}" if high is not None else ""), name)
    return value


def _limits(body: dict[str, Any]) -> tuple[int | None, int]:
    """The largest completion limit given (checked against the model's context length later) and the choices."""
    limits = [v for v in (_integer(body, "max_tokens", 1), _integer(body, "max_completion_tokens", 1))
              if v is not None]
    n = _integer(body, "n", 1, MAX_CHOICES) or 1
    best_of = _integer(body, "best_of", 1, MAX_CHOICES) or 1
    return (max(limits) if limits else None), max(n, best_of)


def _common(body: dict[str, Any]) -> tuple[str, bool]:
    model = body.get("model")
    if not isinstance(model, str) or not model or len(model) > 256:
        raise _bad("'model' is required and must be a non-empty string", "model")
    stream = body.get("stream", False)
    if stream is None:
        stream = False
    if not isinstance(stream, bool):
        raise _bad("'stream' must be a boolean", "stream")
    _number(body, "temperature", 0, 2)
    _number(body, "top_p", 0, 1)
    seed = body.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise _bad("'seed' must be an integer", "seed")
    options = body.get("stream_options")
    if options is not None and not isinstance(options, dict):
        raise _bad("'stream_options' must be an object", "stream_options")
    return model, stream


def _deterministic(body: dict[str, Any], stream: bool) -> bool:
    return not stream and (body.get("temperature") == 0 or body.get("seed") is not None)


def _wants_usage(body: dict[str, Any]) -> bool:
    options = body.get("stream_options")
    return isinstance(options, dict) and options.get("include_usage") is True


def _wants_continuous_usage(body: dict[str, Any]) -> bool:
    options = body.get("stream_options")
    return isinstance(options, dict) and options.get("continuous_usage_stats") is True


def chat_request(body: dict[str, Any]) -> InferenceRequest:
    model, stream = _common(body)
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise _bad("'messages' must be a non-empty array", "messages")
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or not isinstance(message.get("role"), str):
            raise _bad(f"messages[{i}] must be an object with a 'role'", f"messages[{i}]")
    max_tokens, choices = _limits(body)
    return InferenceRequest(body, model, stream, 1, _deterministic(body, stream), _wants_usage(body), max_tokens,
                            choices, _wants_continuous_usage(body))


def completion_request(body: dict[str, Any]) -> InferenceRequest:
    model, stream = _common(body)
    prompt = body.get("prompt")
    if isinstance(prompt, str):
        batch = 1
    elif isinstance(prompt, list) and prompt:
        batch = len(prompt) if all(isinstance(p, str | list) for p in prompt) else 1
    else:
        raise _bad("'prompt' must be a string or a non-empty array", "prompt")
    max_tokens, choices = _limits(body)
    return InferenceRequest(body, model, stream, batch, _deterministic(body, stream), _wants_usage(body), max_tokens,
                            batch * choices, _wants_continuous_usage(body))


def embedding_request(body: dict[str, Any]) -> InferenceRequest:
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise _bad("'model' is required and must be a non-empty string", "model")
    inputs = body.get("input")
    if isinstance(inputs, str) and inputs:
        batch = 1
    elif isinstance(inputs, list) and inputs:
        batch = len(inputs) if all(isinstance(i, str | list) for i in inputs) else 1
    else:
        raise _bad("'input' must be a non-empty string or array", "input")
    encoding = body.get("encoding_format")
    if encoding is not None and encoding not in ("float", "base64"):
        raise _bad("'encoding_format' must be 'float' or 'base64'", "encoding_format")
    # Embeddings are a pure function of the input: always cacheable.
    return InferenceRequest(body, model, False, batch, True, False, 0, 0)
