"""monitoring-svc entrypoints."""
