"""contracts-svc adapters."""
