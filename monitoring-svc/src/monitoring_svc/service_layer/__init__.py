"""monitoring-svc service_layer."""
