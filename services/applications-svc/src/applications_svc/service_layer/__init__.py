"""applications-svc service_layer."""
