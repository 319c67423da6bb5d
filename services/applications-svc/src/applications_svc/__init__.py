"""applications-svc."""
