"""approvals-svc."""
