"""Outbound webhooks: signed JSON (or Slack-compatible) events delivered from the outbox."""
