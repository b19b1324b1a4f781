"""Providers: one module per wire protocol, plus the embedded model and scripted models."""
