"""Prometheus metrics. Counters and histograms are updated where things happen; gauges
that the database or the broker already know (auto top-up outcomes, queue depth, beat
task health) are read when Prometheus scrapes, so they are right whichever process did
the work.

With several processes (gunicorn workers, Celery workers) on one machine, set
PROMETHEUS_MULTIPROC_DIR to an empty directory shared by all of them before they start:
prometheus-client then sums every process's counters into one /metrics answer.
"""

import os

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

HTTP_REQUEST_SECONDS = Histogram(
    "billing_http_request_duration_seconds",
    "Time to answer an HTTP request, by method, URL route and status class.",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
INGEST_EVENTS = Counter(
    "billing_ingest_events_total", "Usage events received by the ingest API, by outcome.", ["outcome"]
)
for _outcome in ("accepted", "duplicate"):
    INGEST_EVENTS.labels(_outcome)  # exported as 0 from the start, so rate() has a baseline
POSTINGS = Counter("billing_postings_total", "Ledger postings committed, by kind.", ["kind"])


class StateCollector(Collector):
    """Gauges read at scrape time from the database and the broker."""

    def collect(self):
        from ops.selectors import auto_top_up_outcomes, beat_task_health, queue_depths

        outcomes = GaugeMetricFamily(
            "billing_auto_top_ups", "Auto top-ups ever attempted, by current status.", labels=["status"]
        )
        for status, count in auto_top_up_outcomes().items():
            outcomes.add_metric([status], count)
        yield outcomes

        depth = GaugeMetricFamily("billing_queue_depth", "Messages waiting in each Celery queue.", labels=["queue"])
        for queue, count in queue_depths().items():
            depth.add_metric([queue], count)
        yield depth

        last = GaugeMetricFamily(
            "billing_beat_task_last_success_timestamp_seconds",
            "Unix time each periodic task last succeeded (0: never).",
            labels=["task"],
        )
        late = GaugeMetricFamily(
            "billing_beat_task_overdue", "1 when a periodic task has not run on time.", labels=["task"]
        )
        for health in beat_task_health():
            last.add_metric([health.name], health.last_success_at.timestamp() if health.last_success_at else 0)
            late.add_metric([health.name], int(health.overdue))
        yield last
        yield late


def metrics_render() -> bytes:
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(registry)
    else:
        for collector in (HTTP_REQUEST_SECONDS, INGEST_EVENTS, POSTINGS):
            registry.register(collector)
    registry.register(StateCollector())
    return generate_latest(registry)
