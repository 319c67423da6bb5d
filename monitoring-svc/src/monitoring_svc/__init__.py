"""monitoring-svc."""
