"""archive-svc service_layer."""
