"""archive-svc entrypoints."""
