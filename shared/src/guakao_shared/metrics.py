"""Prometheus metrics for the messaging plumbing; HTTP metrics come from the app factory."""

from prometheus_client import Counter, Gauge, Histogram

OUTBOX_PUBLISHED = Counter(
    "guakao_outbox_published_total", "Outbox rows published to Kafka", ["service"]
)
OUTBOX_RELAY_ACTIVE = Gauge(
    "guakao_outbox_relay_active", "1 while this process holds the outbox relay lock", ["service"]
)
EVENTS_CONSUMED = Counter(
    "guakao_events_consumed_total",
    "Kafka messages handled, by outcome (applied, duplicate, ignored, dead_lettered)",
    ["service", "consumer", "outcome"],
)
HTTP_REQUESTS = Counter(
    "guakao_http_requests_total", "HTTP requests", ["service", "method", "route", "status"]
)
HTTP_LATENCY = Histogram(
    "guakao_http_request_duration_seconds", "HTTP request latency", ["service", "method", "route"]
)
