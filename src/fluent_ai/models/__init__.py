"""The model catalogue (bundled data), the registry built from it, and the resolver."""
