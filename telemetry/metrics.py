"""Prometheus exposition of the sync trail: a collector that reads the database at scrape time.

Reading at scrape time (rather than counting in-process) keeps every worker, web process and host
consistent: the database is the only memory, so any web process answers the same figures.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from notifications import selectors as notifications
from telemetry import selectors

LABELS = ["site", "project"]


class SyncTrailCollector(Collector):
    def collect(self) -> Iterator[Metric]:
        runs = CounterMetricFamily(
            "jiraplus_sync_runs", "Sync runs by final status.", labels=[*LABELS, "status"]
        )
        failures = CounterMetricFamily(
            "jiraplus_sync_failures", "Failed sync runs by error code.", labels=[*LABELS, "code"]
        )
        slow = CounterMetricFamily("jiraplus_sync_slow_runs", "Runs flagged SLOW_SYNC.", labels=LABELS)
        throughput = GaugeMetricFamily(
            "jiraplus_sync_throughput_records_per_second",
            "Records written per second over the recent successful runs.",
            labels=LABELS,
        )
        requests = GaugeMetricFamily(
            "jiraplus_sync_requests_per_run", "Jira requests per run over the recent runs.", labels=LABELS
        )
        level = GaugeMetricFamily(
            "jiraplus_sync_backoff_level", "Back-off ladder rung (0: the operator's schedule).", labels=LABELS
        )
        last_error = GaugeMetricFamily(
            "jiraplus_sync_last_error",
            "1 when the project's last run failed, labelled with its code.",
            labels=[*LABELS, "code"],
        )
        for item in selectors.project_figures():
            labels = [item.site, item.key]
            for status, count in sorted(item.runs.items()):
                runs.add_metric([*labels, status], count)
            for code, count in sorted(item.failures.items()):
                failures.add_metric([*labels, code], count)
            slow.add_metric(labels, item.slow_runs)
            throughput.add_metric(labels, item.throughput)
            requests.add_metric(labels, item.requests_per_run)
            level.add_metric(labels, item.backoff_level)
            last_error.add_metric([*labels, item.last_error_code], 1 if item.last_error_code else 0)
        yield from (runs, failures, slow, throughput, requests, level, last_error)


class NotificationCollector(Collector):
    """Notification outcomes per channel and status, and the transports' failure reasons, over the
    notifications' retention window (gauges: a message moves from QUEUED to SENT or FAILED)."""

    def collect(self) -> Iterator[Metric]:
        messages = GaugeMetricFamily(
            "jiraplus_notifications", "Notifications by channel and status.", labels=["channel", "status"]
        )
        failures = GaugeMetricFamily(
            "jiraplus_notification_failures",
            "FAILED notifications by channel and the transport's error code.",
            labels=["channel", "code"],
        )
        streak = GaugeMetricFamily(
            "jiraplus_notification_channel_consecutive_failures",
            "Final failures in a row of each channel (0: healthy).",
            labels=["channel"],
        )
        alerting = GaugeMetricFamily(
            "jiraplus_notification_channel_alerting",
            "1 while a failing-channel alert is open.",
            labels=["channel"],
        )
        for (channel, status), count in sorted(notifications.message_outcome_counts().items()):
            messages.add_metric([channel, status], count)
        for (channel, code), count in sorted(notifications.message_failure_counts().items()):
            failures.add_metric([channel, code], count)
        for config in notifications.channel_health():
            streak.add_metric([config.channel], config.consecutive_failures)
            alerting.add_metric([config.channel], 1 if config.alert_raised_at else 0)
        yield from (messages, failures, streak, alerting)


def exposition() -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SyncTrailCollector())
    registry.register(NotificationCollector())
    return generate_latest(registry)
