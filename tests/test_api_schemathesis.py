"""Property-based testing of the whole API from its OpenAPI spec: no request may get a 5xx.

Schemathesis generates valid and invalid requests for every operation of the spec (bounded and
derandomized, so the run is short and the same on every machine) and sends them over real HTTP, with a
key holding every scope (``admin`` and ``feedback:pii``), to the app served by uvicorn on loopback.
Every operation must be reached, and each at least once past authentication.
"""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from typing import Any

import httpx
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from core.staff.api_keys import create_api_key
from storage.uow import SqlUnitOfWork
from tests.conftest import NOW
from tests.staff_api import seed, serve

MAX_EXAMPLES = 8


def _chat_session(base: str) -> dict[str, str]:
    """The headers the chat page's script sends: its session cookie and CSRF token."""
    page = httpx.get(f"{base}/chat", timeout=30)
    token = re.search(r'name="csrf-token" content="([0-9a-f]+)"', page.text)
    assert token and page.cookies.get("gopy_chat")
    return {"Cookie": f"gopy_chat={page.cookies['gopy_chat']}", "X-CSRF-Token": token.group(1)}


def _fuzz(base: str, token: str) -> tuple[list[str], set[str]]:
    schema = schemathesis.openapi.from_url(f"{base}/openapi.json")
    chat = _chat_session(base)
    failures: list[str] = []
    checked = 0
    operations: list[str] = []
    reached: Counter[str] = Counter()  # answers other than 401/403 (refused key or session) per operation
    for result in schema.get_all_operations():
        operation = result.ok()
        operations.append(operation.label)
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
                if case.operation.path.startswith("/chat/"):
                    headers.update(chat)
                case.headers = headers
                response = case.call(base_url=base, timeout=30)
                checked += 1
                if response.status_code not in (401, 403):
                    reached[case.operation.label] += 1
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
    assert {op for op in operations if not reached[op]} == set(), "operations never reached past auth"
    return failures, set(operations)


# Values random generation rarely hits: the ends of the calendar (local time and offsets push them out of
# what UTC can hold), and control, format and escape characters in texts.
EDGE_DATES = ("0001-01-01T00:00:00", "0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-12:00")
EDGE_TEXTS = ("\x01\x1b[31m\u200b\x7f\ufeff", " \t\n ", "%", "ab\u0301c" * 10)


def _types(schema: dict[str, Any]) -> set[str]:
    options = schema.get("anyOf", [schema])
    return {f"{o.get('type')}:{o.get('format', '')}" for o in options}


def _edges(base: str, token: str) -> list[str]:
    """Each query parameter of each operation, one edge value at a time, other parameters left out."""
    spec = httpx.get(f"{base}/openapi.json", timeout=30).json()
    failures = []
    with httpx.Client(base_url=base, timeout=30, headers={"Authorization": f"Bearer {token}"}) as http:
        for path, methods in spec["paths"].items():
            for method, operation in methods.items():
                params = operation.get("parameters", [])
                url = path
                for param in (p for p in params if p["in"] == "path"):
                    value = "1" if "integer:" in _types(param["schema"]) else "GY-T00001"
                    url = url.replace("{" + param["name"] + "}", value)
                for param in (p for p in params if p["in"] == "query"):
                    kinds = _types(param["schema"])
                    values = (
                        EDGE_DATES
                        if "string:date-time" in kinds
                        else EDGE_TEXTS
                        if "string:" in kinds
                        else ()
                    )
                    for value in values:
                        label = f"{method.upper()} {url}?{param['name']}={value!r}"
                        try:
                            response = http.request(method, url, params={param["name"]: value})
                        except httpx.TransportError as exc:  # the server dropped the connection
                            failures.append(f"{label}: {type(exc).__name__}")
                            continue
                        if response.status_code >= 500:
                            failures.append(f"{label}: {response.status_code}")
    return failures


async def test_no_server_error_for_any_generated_request(database_url, loaded, clock) -> None:  # type: ignore[no-untyped-def]
    async with SqlUnitOfWork(loaded) as uow:
        _id, key = await create_api_key(
            uow=uow, actor="test", name="fuzz", scopes=["admin", "feedback:pii"], now=NOW
        )
    await seed(loaded, count=12)
    with serve(database_url, clock) as base:
        failures, operations = await asyncio.to_thread(_fuzz, base, key.secret)
        failures += await asyncio.to_thread(_edges, base, key.secret)
    assert {
        "GET /healthz",
        "GET /v1/feedback",
        "POST /v1/documents/import",
        "POST /chat/api/events",
    } <= operations
    assert failures == []
