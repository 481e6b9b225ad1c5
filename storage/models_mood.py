"""Storage additions of the public-mood feature: no new table, one index.

Mood entries live in ``feedback`` (kind concern / aspiration / recommendation, with ``congress_id``,
``period_id`` and ``topic``). Staff read them period by period (summary, report draft, exports), so
``feedback`` gets an index on ``(period_id, created_at)``.
"""

from __future__ import annotations

from sqlalchemy import Index

from storage.models import FeedbackRow

FEEDBACK_PERIOD_INDEX = Index("ix_feedback_period_created", FeedbackRow.period_id, FeedbackRow.created_at)
