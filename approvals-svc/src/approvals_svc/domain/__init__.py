"""approvals-svc domain."""
