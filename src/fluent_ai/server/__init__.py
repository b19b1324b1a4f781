"""The HTTP and WebSocket service: ``fluent-ai serve`` (see ``docs/architecture.md``)."""
