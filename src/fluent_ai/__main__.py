"""``python -m fluent_ai`` runs the CLI."""

from fluent_ai.cli.app import main

main()
