"""Reading a draft with per-section counts: the tree, counts by stance beside each section, subtree
totals, whole-document opinions apart, hidden ones counted apart; fakes, both databases, HTTP."""

from __future__ import annotations

import httpx

from core.staff.moderation import hide_opinion
from core.staff.reading import read_draft_with_counts
from storage.uow import SqlUnitOfWork
from tests.conftest import NOW
from tests.fakes_staff import FakeStaffUnitOfWork, StaffStore
from tests.staff_api import make_keys, seed, serve


def _section(id_: int, ordinal: int, parent: int | None, title: str) -> dict[str, object]:
    depth = 1 if parent is None else 2
    return {
        "id": id_,
        "document_id": 1,
        "parent_id": parent,
        "ordinal": ordinal,
        "depth": depth,
        "number": str(id_),
        "title": title,
        "body": "",
    }


async def test_the_tree_carries_counts_and_subtree_totals() -> None:
    store = StaffStore()
    store.documents[1] = {"id": 1, "code": "d", "title": "Dự thảo", "status": "open"}
    for section in (
        _section(10, 1, None, "I"),
        _section(11, 2, 10, "1"),
        _section(12, 3, 10, "2"),
        _section(20, 4, None, "II"),
    ):
        store.sections[int(section["id"])] = section  # type: ignore[arg-type]
    store.counts = [
        ("d", 10, "agree", 1),
        ("d", 11, "agree", 2),
        ("d", 11, "disagree", 3),
        ("d", 12, "other", 1),
        ("d", None, "partial", 4),
        ("x", 11, "agree", 99),
    ]
    store.hidden_counts[1] = 2
    async with FakeStaffUnitOfWork(store) as uow:
        reading = await read_draft_with_counts(uow=uow, document_id=1)
    assert [s.id for s in reading.walk()] == [10, 11, 12, 20]
    first, second = reading.sections
    assert [c.id for c in first.children] == [11, 12] and second.children == []
    assert first.counts == {"agree": 1, "disagree": 0, "partial": 0, "other": 0}
    assert first.children[0].counts == {"agree": 2, "disagree": 3, "partial": 0, "other": 0}
    assert (first.total, first.subtree_total, second.subtree_total) == (1, 7, 0)
    assert reading.whole_document["partial"] == 4 and reading.total == 11 and reading.hidden == 2
    assert reading.as_json()["sections"][0]["children"][0]["total"] == 5


async def test_reading_over_http_matches_the_stored_opinions(database_url, loaded, clock) -> None:  # type: ignore[no-untyped-def]
    keys = await make_keys(loaded)
    data = await seed(loaded)
    counted = [
        r
        for r in data.rows
        if r["kind"] == "draft_opinion" and r["status"] == "active" and r["document_id"] == data.document_id
    ]
    async with SqlUnitOfWork(loaded) as uow:
        await hide_opinion(
            uow=uow, actor="t", receipt_code=counted[0]["receipt_code"], reason="spam", now=NOW
        )
    shown = counted[1:]
    with serve(database_url, clock) as base:
        async with httpx.AsyncClient(base_url=base, timeout=60) as client:
            response = await client.get(
                f"/v1/documents/{data.document_id}/reading", headers=keys.auth("reader")
            )
            assert response.status_code == 200, response.text
            body = response.json()
            refused = await client.get(
                f"/v1/documents/{data.document_id}/reading", headers=keys.auth("reports")
            )
            assert refused.status_code == 403
            missing = await client.get("/v1/documents/9999/reading", headers=keys.auth("reader"))
            assert missing.status_code == 404
    assert body["total"] == len(shown) and body["hidden"] == 1

    def flat(nodes: list[dict]) -> list[dict]:  # type: ignore[type-arg]
        return [n for node in nodes for n in [node, *flat(node["children"])]]

    by_id = {n["id"]: n for n in flat(body["sections"])}
    for section_id in {r["section_id"] for r in shown}:
        for stance in ("agree", "disagree", "partial", "other"):
            expected = sum(1 for r in shown if r["section_id"] == section_id and r["stance"] == stance)
            assert by_id[section_id]["counts"][stance] == expected
    assert sum(n["total"] for n in by_id.values()) + sum(body["whole_document"].values()) == len(shown)
    assert all(n["subtree_total"] >= n["total"] for n in by_id.values())
