"""guakao shared library: events, messaging, telemetry, settings, auth, errors."""
