"""The pure core: incidents, lifecycle and the command grammar (no Slack, no Redis, no I/O)."""
