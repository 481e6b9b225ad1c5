"""Pure rules of the mood feature: reporting windows, period assignment at the boundaries, the use case."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core import errors
from core.domain import Channel, Congress, FeedbackKind, ReportingPeriod
from core.feedback import record_consent
from core.mood import WindowState, assign_period, congresses_for_mood, mood_window, submit_mood_entry
from storage.loaders import due_of_month, resolve_date
from tests.fakes import FakeUnitOfWork, sample_store

HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = datetime(2025, 11, 20, 3, 0, tzinfo=UTC)
US = timedelta(microseconds=1)


def city_17() -> tuple[Congress, list[ReportingPeriod]]:
    """The city's 17th Congress exactly as the bundled plan states it (held_at "2025-10-14")."""
    held = resolve_date("2025-10-14", now=NOW, tz=HANOI)
    congress = Congress(3, "city-17", "city", "Đại hội XVII", "City 17th", held)
    periods = [
        ReportingPeriod(
            31, "city-17-before", 3, "before", due_of_month("2025-09", due_day=5, tz=HANOI), "trước", "b"
        ),
        ReportingPeriod(
            32, "city-17-after", 3, "after", due_of_month("2025-11", due_day=5, tz=HANOI), "sau", "a"
        ),
    ]
    return congress, periods


def test_plan_date_is_midnight_in_hanoi() -> None:
    congress, _ = city_17()
    assert congress.held_on == datetime(2025, 10, 13, 17, 0, tzinfo=UTC)
    assert congress.held_on.astimezone(HANOI) == datetime(2025, 10, 14, 0, 0, tzinfo=HANOI)


def test_the_instant_before_the_congress_is_before_and_the_congress_instant_is_after() -> None:
    congress, periods = city_17()
    held = congress.held_on
    assert held is not None
    assert assign_period(congress, periods, held - US).code == "city-17-before"  # type: ignore[union-attr]
    assert assign_period(congress, periods, held).code == "city-17-after"  # type: ignore[union-attr]
    assert assign_period(congress, periods, held + US).code == "city-17-after"  # type: ignore[union-attr]


def test_local_time_decides_not_the_utc_date() -> None:
    congress, periods = city_17()
    # 13/10 23:59:59 in Hanoi (16:59:59 UTC): before; 14/10 00:30 in Hanoi is still 13/10 in UTC: after
    late_evening = datetime(2025, 10, 13, 23, 59, 59, tzinfo=HANOI)
    after_midnight = datetime(2025, 10, 14, 0, 30, tzinfo=HANOI)
    assert after_midnight.astimezone(UTC).date().day == 13
    assert assign_period(congress, periods, late_evening).phase == "before"  # type: ignore[union-attr]
    assert assign_period(congress, periods, after_midnight).phase == "after"  # type: ignore[union-attr]


def test_an_entry_before_the_congress_but_after_the_before_report_still_counts_as_before() -> None:
    congress, periods = city_17()
    # the "before" report was due 5/9; an entry on 1/10 is still said before the congress
    assert assign_period(congress, periods, datetime(2025, 10, 1, tzinfo=HANOI)).phase == "before"  # type: ignore[union-attr]


def test_single_phase_congress_maps_every_instant_to_its_period() -> None:
    held = datetime(2025, 6, 14, 17, tzinfo=UTC)
    congress = Congress(1, "grassroots", "grassroots", "Cơ sở", "Grassroots", held)
    single = ReportingPeriod(11, "g-2025-07", 1, "single", datetime(2025, 7, 4, 17, tzinfo=UTC), "x", "x")
    for at in (held - US, held, held + timedelta(days=60)):
        assert assign_period(congress, [single], at) == single


def test_congress_without_date_uses_the_first_period_not_yet_due() -> None:
    congress, periods = city_17()
    undated = Congress(congress.id, congress.code, congress.level, congress.name_vi, congress.name_en, None)
    first_due = periods[0].due_at
    assert assign_period(undated, periods, first_due - US) == periods[0]
    assert assign_period(undated, periods, first_due) == periods[1]
    assert assign_period(undated, periods, periods[1].due_at + timedelta(days=1)) == periods[1]


def test_periods_of_other_congresses_are_ignored_and_naive_times_refused() -> None:
    congress, periods = city_17()
    other = Congress(9, "x", "x", "x", "x", congress.held_on)
    assert assign_period(other, periods, NOW) is None
    with pytest.raises(ValueError):
        assign_period(congress, periods, datetime(2025, 10, 1))


def test_window_closes_at_the_last_report_deadline_and_opens_at_the_first_start() -> None:
    congress, periods = city_17()
    window = mood_window(congress, periods)
    assert window is not None
    last_due = periods[1].due_at
    assert window.state(last_due - US) is WindowState.OPEN
    assert window.state(last_due) is WindowState.CLOSED
    starts = datetime(2025, 8, 1, tzinfo=HANOI)
    periods[0] = ReportingPeriod(31, "city-17-before", 3, "before", periods[0].due_at, "t", "b", starts)
    window = mood_window(congress, periods)
    assert window is not None
    assert window.state(starts - US) is WindowState.UPCOMING and window.accepts(starts - US)
    assert window.state(starts) is WindowState.OPEN
    assert mood_window(Congress(8, "none", "x", "x", "x"), periods) is None


def test_congresses_for_mood_keep_plan_order_and_drop_closed_ones() -> None:
    store = sample_store(NOW)
    windows = congresses_for_mood(store.congresses, store.periods, NOW)
    assert [w.congress.code for w in windows] == ["national-14", "next-term"]
    assert [w.state(NOW) for w in windows] == [WindowState.OPEN, WindowState.UPCOMING]


async def _respondent(store) -> int:  # type: ignore[no-untyped-def]
    async with FakeUnitOfWork(store) as uow:
        respondent = await record_consent(
            uow=uow, channel=Channel.TELEGRAM, user_hash="h", language="vi", version="v", now=NOW
        )
    assert respondent.id is not None
    return respondent.id


async def test_submit_mood_entry_dates_and_ties_the_entry_and_commits_once() -> None:
    store = sample_store(NOW)
    rid = await _respondent(store)
    commits = store.commits
    async with FakeUnitOfWork(store) as uow:
        receipt = await submit_mood_entry(
            uow=uow,
            respondent_id=rid,
            congress_id=2,
            kind=FeedbackKind.CONCERN,
            topic="economy",
            text=" Lo\u200b ngại  ",
            channel=Channel.WEB,
            now=NOW,
            max_length=100,
            client_ref="r1",
        )
        again = await submit_mood_entry(
            uow=uow,
            respondent_id=rid,
            congress_id=2,
            kind=FeedbackKind.CONCERN,
            topic="economy",
            text="Lo ngại",
            channel=Channel.WEB,
            now=NOW,
            max_length=100,
            client_ref="r1",
        )
    assert again == receipt and store.commits == commits + 1
    [entry] = store.feedback.values()
    assert (entry.congress_id, entry.period_id, entry.created_at, entry.text) == (2, 3, NOW, "Lo ngại")
    assert entry.source.value == "web"


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"congress_id": 1}, errors.CongressClosed),
        ({"congress_id": 4}, errors.CongressClosed),  # no reporting period at all
        ({"congress_id": 99}, errors.CongressNotFound),
        ({"topic": "nope"}, errors.NotFound),
        ({"kind": FeedbackKind.DRAFT_OPINION}, errors.NotFound),
        ({"text": "  \u200b "}, errors.TextRequired),
        ({"text": "x" * 101}, errors.TextTooLong),
        ({"respondent_id": 999}, errors.ConsentRequired),
    ],
)
async def test_submit_mood_entry_refuses_and_stores_nothing(changes: dict, error: type) -> None:  # type: ignore[type-arg]
    store = sample_store(NOW)
    rid = await _respondent(store)
    args = {
        "respondent_id": rid,
        "congress_id": 2,
        "kind": FeedbackKind.ASPIRATION,
        "topic": None,
        "text": "Mong muốn",
        "channel": Channel.TELEGRAM,
        "now": NOW,
        "max_length": 100,
        **changes,
    }
    async with FakeUnitOfWork(store) as uow:
        with pytest.raises(error):
            await submit_mood_entry(uow=uow, **args)
    assert store.feedback == {}


def test_summary_counts_only_active_mood_entries_of_the_period() -> None:
    from dataclasses import replace

    from core.domain import Feedback, FeedbackStatus, Profile, Source
    from core.mood import summarise_entries

    store = sample_store(NOW)
    base = Feedback(
        id=1, receipt_code="GY-A", kind=FeedbackKind.CONCERN, respondent_id=1, text="Lo ngại giá điện tăng cao",
        text_folded="", channel=Channel.TELEGRAM, source=Source.BOT, created_at=NOW, congress_id=2,
        period_id=3, topic="economy", profile=Profile(category="worker", locality="loc1"),
    )  # fmt: skip
    entries = [
        base,
        replace(base, id=2, receipt_code="GY-B", text="lo ngại giá điện tăng cao!"),
        replace(base, id=3, receipt_code="GY-C", kind=FeedbackKind.ASPIRATION, topic=None, profile=Profile()),
        replace(base, id=4, receipt_code="GY-D", status=FeedbackStatus.WITHDRAWN),
        replace(base, id=5, receipt_code="GY-E", period_id=4),  # another period
        replace(base, id=6, receipt_code="GY-F", kind=FeedbackKind.DRAFT_OPINION),  # not a mood entry
    ]
    summary = summarise_entries(entries, period=store.periods[2], congress=store.congresses[1])
    assert (summary.total, summary.withdrawn) == (3, 1)
    assert summary.counts["kind"] == {"concern": 2, "aspiration": 1}
    assert summary.counts["topic"] == {"economy": 2, "unknown": 1}
    assert summary.counts["category"] == {"worker": 2, "unknown": 1}
    assert summary.counts["congress"] == {"national-14": 3}
    assert [(g.kind, g.count, g.receipt_codes) for g in summary.groups] == [
        (FeedbackKind.CONCERN, 2, ("GY-A", "GY-B")),
        (FeedbackKind.ASPIRATION, 1, ("GY-C",)),
    ]
    assert [e.receipt_code for e in summary.entries] == ["GY-A", "GY-B", "GY-C"]


@settings(max_examples=300, deadline=None)
@given(st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2026, 12, 31), timezones=st.just(UTC)))
def test_every_instant_goes_before_or_after_by_the_local_congress_instant(at: datetime) -> None:
    congress, periods = city_17()
    assert congress.held_on is not None
    period = assign_period(congress, periods, at)
    assert period is not None
    local_day = at.astimezone(HANOI).date()
    expected = "before" if local_day < congress.held_on.astimezone(HANOI).date() else "after"
    assert period.phase == expected
