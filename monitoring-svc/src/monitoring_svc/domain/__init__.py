"""monitoring-svc domain."""
