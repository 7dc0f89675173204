"""Supervisor board: event log, metrics, live board, reports and Prometheus metrics."""
