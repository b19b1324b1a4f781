"""Who may call the server: API keys, JWT bearer tokens, OAuth2 for upstreams, secrets at rest."""
