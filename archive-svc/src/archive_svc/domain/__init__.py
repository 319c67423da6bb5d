"""archive-svc domain."""
