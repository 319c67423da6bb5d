"""contracts-svc."""
