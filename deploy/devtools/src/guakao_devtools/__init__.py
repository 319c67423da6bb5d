"""guakao developer tools: the `guakao` command line and local infrastructure."""
