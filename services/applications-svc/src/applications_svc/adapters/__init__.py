"""applications-svc adapters."""
