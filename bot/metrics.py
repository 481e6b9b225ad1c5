"""Prometheus counters of the chat channels (exposed by the API at /metrics)."""

from prometheus_client import Counter

UPDATES_HANDLED = Counter("gopy_updates_handled_total", "Chat updates handled", ["channel", "kind"])
UPDATES_DUPLICATE = Counter("gopy_updates_duplicate_total", "Re-delivered chat updates skipped", ["channel"])
UPDATE_ERRORS = Counter("gopy_update_errors_total", "Chat updates that failed", ["channel"])
