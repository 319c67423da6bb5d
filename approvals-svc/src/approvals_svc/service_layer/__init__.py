"""approvals-svc service_layer."""
