"""applications-svc entrypoints."""
