"""The Slack face: Bolt listeners for the command, buttons and modal; pure Block Kit renderers."""
