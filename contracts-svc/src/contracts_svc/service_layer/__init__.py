"""contracts-svc service_layer."""
