"""approvals-svc entrypoints."""
