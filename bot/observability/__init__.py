"""Metrics, and the side server that exposes them with the health checks."""
