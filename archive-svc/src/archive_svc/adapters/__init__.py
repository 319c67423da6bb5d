"""archive-svc adapters."""
