"""Prometheus metrics of the whole service (exposed by the API at /metrics); bot, api and scheduler import them."""

from prometheus_client import Counter, Gauge

UPDATES_HANDLED = Counter("gopy_updates_handled_total", "Chat updates handled", ["channel", "kind"])
UPDATES_DUPLICATE = Counter("gopy_updates_duplicate_total", "Re-delivered chat updates skipped", ["channel"])
UPDATE_ERRORS = Counter("gopy_update_errors_total", "Chat updates that failed", ["channel"])
UPDATES_FLOOD_DROPPED = Counter(
    "gopy_updates_flood_dropped_total", "Chat updates dropped by flood control", ["channel"]
)

# Staff side (API / CLI) and the scheduler.
SUBMISSIONS = Counter(
    "gopy_submissions_total", "Entries stored (opinions and mood entries)", ["channel", "kind"]
)
EXPORTS = Counter("gopy_exports_total", "Exports and reports produced", ["kind", "format"])
OUTBOX_BACKLOG = Gauge("gopy_outbox_backlog", "Outbox messages waiting to be sent")
OUTBOX_BACKLOG.set(0)
