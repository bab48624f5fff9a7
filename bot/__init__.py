"""IncidentWatch: a self-hosted chat-ops bot for running IT incidents from Slack."""

__version__ = "0.1.0"
