"""Chat history backends: SQLite (embedded default) and PostgreSQL (shared deployments)."""
