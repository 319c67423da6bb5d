"""archive-svc."""
