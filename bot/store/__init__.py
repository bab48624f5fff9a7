"""Redis persistence: the incident repository and the embedded server."""
