"""Property-based fuzzing of the auth service (token endpoint, JWKS, admin API) from its OpenAPI schema:
no input makes it answer with a server error, and every answer is JSON."""

from __future__ import annotations

import hypothesis
import schemathesis
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error

from tests.runtime.helpers import bearer
from tests.support.services import Service

# Rotation is exercised by its own test; fuzzing it would only pile up signing keys.
SKIPPED = ("/admin/signing-keys/rotate", "/metrics")


def test_no_input_causes_a_server_error(auth_service: Service, admin_key: str) -> None:
    schema = schemathesis.openapi.from_url(auth_service.url + "/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    fuzzed = [op for op in operations if op.path not in SKIPPED]
    assert len(fuzzed) >= 12, [op.path for op in fuzzed]
    strategy = st.one_of(*(op.as_strategy() for op in fuzzed))

    @hypothesis.given(case=strategy)
    @hypothesis.settings(max_examples=150, deadline=None, suppress_health_check=list(hypothesis.HealthCheck),
                         database=None)
    def check(case: schemathesis.Case) -> None:
        response = case.call_and_validate(base_url=auth_service.url, headers=bearer(admin_key),
                                          checks=[not_a_server_error])
        assert response.headers.get("content-type", [""])[0].startswith("application/json"), case.path

    check()
