"""contracts-svc domain."""
