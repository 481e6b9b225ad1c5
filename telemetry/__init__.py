"""Telemetry shared by every edge (bot, API, scheduler): Prometheus metrics."""
