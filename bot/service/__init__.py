"""Slack-free incident services: one set of operations for every face (Slack, console, API)."""
