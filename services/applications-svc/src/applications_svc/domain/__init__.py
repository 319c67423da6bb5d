"""applications-svc domain."""
