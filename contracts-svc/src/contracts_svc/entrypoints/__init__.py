"""contracts-svc entrypoints."""
