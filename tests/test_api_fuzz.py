"""Property-based fuzzing of every operation in the OpenAPI schema against a real server.

Schemathesis generates requests from ``/openapi.json`` (valid ones and near misses: wrong types,
missing fields, odd strings, huge numbers) for each operation and sends them with a valid key to
``drugforge serve`` running as its own process. Whatever arrives, the server must answer with a
status its schema allows or a clear 4xx, never a 5xx, and the answer must match the schema.
The examples are derandomized, so a failure reproduces on every run.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from serving import ServerProcess, make_key

schemathesis = pytest.importorskip("schemathesis")
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
)

LEGACY = Path(__file__).parent / "fixtures" / "legacy_models"


@pytest.fixture(scope="module")
def fuzzed_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    data = tmp_path_factory.mktemp("fuzz")
    shutil.copytree(LEGACY / "gbm_classifier", data / "models" / "gbm-active")
    key = make_key(data, "fuzzer")
    server = ServerProcess(data, "--rate-limit", "100000", "--max-molecules", "200",
                           "--workers", "1").start()  # fmt: skip
    try:
        yield server.url, key
    finally:
        server.stop()


def test_no_request_makes_the_server_fail(fuzzed_server: tuple[str, str]) -> None:
    """Every operation of the OpenAPI schema, fuzzed by schemathesis's strategies through
    hypothesis directly (its pytest plugin follows pytest's internals, which move)."""
    url, key = fuzzed_server
    api = schemathesis.openapi.from_url(f"{url}/openapi.json")
    operations = [result.ok() for result in api.get_all_operations()]
    assert len(operations) >= 10
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=25, derandomize=True, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))  # fmt: skip
        def check(case: object) -> None:
            response = case.call(headers={"Authorization": f"Bearer {key}"}, timeout=120)  # type: ignore[attr-defined]
            assert response.status_code < 500, (
                f"{case.method} {case.formatted_path} -> {response.status_code}: "  # type: ignore[attr-defined]
                f"{response.text[:500]}"
            )
            case.validate_response(  # type: ignore[attr-defined]
                response,
                checks=[not_a_server_error, content_type_conformance, response_schema_conformance],
            )

        check()
