"""Property-based fuzzing of the gateway's inference routes (they are raw ASGI, outside the OpenAPI
schema): whatever JSON arrives, the answer is a 2xx or an OpenAI-shaped 4xx, never a 5xx."""

from __future__ import annotations

import httpx
import hypothesis
import orjson
from hypothesis import strategies as st

from tests.runtime.helpers import MODEL, bearer
from tests.support.services import Service

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
messages = st.lists(st.fixed_dictionaries({"role": st.sampled_from(["user", "system"]), "content": json_values}),
                    max_size=3) | json_values
bodies = st.fixed_dictionaries(
    {},
    optional={"model": st.sampled_from([MODEL, "", "unknown"]) | json_values, "messages": messages,
              "prompt": json_values, "input": json_values, "stream": st.booleans() | json_values,
              "temperature": json_values, "max_tokens": json_values, "seed": json_values, "n": json_values,
              "stream_options": json_values, "encoding_format": json_values},
)


def test_no_body_causes_a_server_error(gateway: Service, admin_key: str) -> None:
    with httpx.Client(base_url=gateway.url, headers=bearer(admin_key), timeout=10) as client:

        @hypothesis.given(path=st.sampled_from(["/v1/chat/completions", "/v1/completions", "/v1/embeddings"]),
                          body=bodies)
        @hypothesis.settings(max_examples=200, deadline=None, database=None,
                             suppress_health_check=list(hypothesis.HealthCheck))
        def check(path: str, body: dict[str, object]) -> None:
            response = client.post(path, content=orjson.dumps(body), headers={"Cache-Control": "no-cache"})
            assert response.status_code < 500, (path, body, response.text)
            if response.status_code >= 400:
                assert set(response.json()["error"]) >= {"message", "type", "param", "code"}

        check()
