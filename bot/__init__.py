"""Chat adapters: Slack (slack-bolt) and Discord (HTTP interactions, discord.py), one view model."""
