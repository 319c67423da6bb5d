"""approvals-svc adapters."""
