"""Property-based testing of the whole /v1 API from its OpenAPI spec: no request may get a 5xx.

Schemathesis generates valid and invalid requests for every operation (bounded, so the run stays short)
and sends them over real HTTP, with an admin key, to the app served by uvicorn on loopback.
"""

from __future__ import annotations

import asyncio

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from tests.staff_api import make_keys, seed, serve

MAX_EXAMPLES = 8


def _fuzz(base: str, token: str) -> list[str]:
    schema = schemathesis.openapi.from_url(f"{base}/openapi.json")
    failures: list[str] = []
    checked = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            strategy = operation.as_strategy(generation_mode=mode)

            @settings(
                max_examples=MAX_EXAMPLES,
                deadline=None,
                database=None,
                derandomize=True,
                suppress_health_check=list(HealthCheck),
            )
            @given(case=strategy)
            def run(case: schemathesis.Case) -> None:
                nonlocal checked
                headers = dict(case.headers or {})
                headers["Authorization"] = f"Bearer {token}"
                case.headers = headers
                response = case.call(base_url=base, timeout=30)
                checked += 1
                if response.status_code >= 500:
                    failures.append(
                        f"{case.operation.label}: {response.status_code} {case.as_curl_command()}"
                    )
                if response.status_code >= 400:
                    body = response.json()
                    assert set(body["error"]) >= {"code", "message_vi", "message_en"}, body

            try:
                run()
            except Unsatisfiable:
                continue  # e.g. no invalid request exists for an operation without parameters
    assert checked > 100
    return failures


async def test_no_server_error_for_any_generated_request(database_url, loaded, clock) -> None:  # type: ignore[no-untyped-def]
    keys = await make_keys(loaded)
    await seed(loaded, count=12)
    with serve(database_url, clock) as base:
        failures = await asyncio.to_thread(_fuzz, base, keys.admin)
    assert failures == []
