"""monitoring-svc adapters."""
