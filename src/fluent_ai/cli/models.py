"""``fluent-ai models``: the catalogue as a table or JSON, filtered; ``--refresh`` asks
the configured providers what they serve."""

from __future__ import annotations

import asyncio
import json
import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer

from fluent_ai.cli.errors import EXIT_USAGE, fail, reporting_errors, setup_logging

if TYPE_CHECKING:
    from fluent_ai.models.catalogue import ModelInfo
    from fluent_ai.runtime import Runtime

__all__ = ["models"]


def models(
    provider: Annotated[
        list[str] | None,
        typer.Option(
            "--provider", "-p", metavar="PROVIDER", help="Only this provider's models (repeatable)."
        ),
    ] = None,
    capability: Annotated[
        list[str] | None,
        typer.Option(
            "--capability",
            "-c",
            metavar="CAPABILITY",
            help="Only models with this capability (repeatable): "
            "tools, vision, json_schema, thinking, embeddings, audio.",
        ),
    ] = None,
    as_json: bool = typer.Option(False, "--json", help="Print a JSON array instead of a table."),
    refresh: bool = typer.Option(
        False, "--refresh", help="Ask each configured provider's listing endpoint first."
    ),
    debug: bool = typer.Option(False, "--debug", help="Log details and show tracebacks."),
) -> None:
    """List the models fluent-ai knows: context window, prices, capabilities."""
    setup_logging(debug)
    with reporting_errors(debug):
        from fluent_ai.errors import ConfigurationError
        from fluent_ai.models.resolver import check_capabilities
        from fluent_ai.runtime import Runtime

        provider = provider or []
        capability = capability or []
        runtime = Runtime()
        known = set(runtime.resolver.providers)
        unknown = [p for p in provider if p not in known]
        if unknown:
            raise fail(
                f"unknown provider {', '.join(unknown)} (providers: {', '.join(sorted(known))})",
                EXIT_USAGE,
            )
        try:
            wanted = check_capabilities(capability)
        except ConfigurationError as exc:  # a usage mistake here
            raise fail(str(exc), EXIT_USAGE) from None
        code = 0
        if refresh:
            code = 1 if _refresh(runtime, provider) else 0
            runtime = Runtime()  # read the cache just written
        rows = [
            m
            for m in runtime.registry.models
            if (not provider or m.provider in provider) and all(m.has(c) for c in wanted)
        ]
        if as_json:
            payload = [
                {
                    **m.to_dict(),
                    "configured": runtime.registry.is_configured(m.provider, runtime.env),
                }
                for m in rows
            ]
            sys.stdout.write(json.dumps(payload, indent=1) + "\n")
        else:
            _table(runtime, rows)
        if code:
            raise typer.Exit(code)


def _refresh(runtime: Runtime, only: list[str]) -> bool:
    """Refresh the discovery cache; report each provider on stderr; True if any failed."""
    from fluent_ai.errors import ConfigurationError
    from fluent_ai.models.discovery import discover, save_discovered

    registry = runtime.registry
    chosen = [
        p
        for p in sorted(runtime.resolver.providers)
        if p != "local" and (not only or p in only) and registry.is_configured(p, runtime.env)
    ]
    if not chosen:
        raise ConfigurationError(
            "no provider to refresh: set an API key (OPENAI_API_KEY, ANTHROPIC_API_KEY, …) "
            "or a local server's URL (OLLAMA_BASE_URL …)"
        )
    results = asyncio.run(discover(runtime, chosen))
    listed = {p: r for p, r in results.items() if isinstance(r, list)}
    if listed:
        save_discovered(runtime.settings.home, listed)
    for name, result in results.items():
        if isinstance(result, list):
            new = [n for n in result if _catalogued(registry.get(name, n)) is False]
            sys.stderr.write(f"{name}: {len(result)} models ({len(new)} not in the catalogue)\n")
        else:
            sys.stderr.write(f"{name}: error: {result}\n")
    return len(listed) < len(results)


def _catalogued(info: ModelInfo | None) -> bool:
    """Whether the bundled catalogue (not an earlier discovery) knows this model."""
    return info is not None and info.source == "catalogue"


def _price(value: float | None) -> str:
    if value is None:
        return "?"
    return f"{value:.3f}".rstrip("0").rstrip(".") if value else "0"


def _tokens(value: int | None) -> str:
    if not value:
        return "?"
    if value >= 1_000_000:
        return f"{value / 1_000_000:.2f}".rstrip("0").rstrip(".") + "M"
    return f"{value // 1000}k" if value >= 10_000 else str(value)


def _table(runtime: Runtime, rows: list[ModelInfo]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(
        title=f"{len(rows)} models (prices in USD per million tokens; aliases in parentheses; "
        "? = not known)"
    )
    for column, justify in (
        ("model", "left"),
        ("kind", "left"),
        ("context", "right"),
        ("max out", "right"),
        ("in", "right"),
        ("out", "right"),
        ("cached", "right"),
        ("capabilities", "left"),
        ("key", "center"),
    ):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for m in rows:
        caps: Any = "?" if m.capabilities is None else ", ".join(sorted(m.capabilities))
        configured = runtime.registry.is_configured(m.provider, runtime.env)
        table.add_row(
            m.spec + (f" ({', '.join(m.aliases)})" if m.aliases else ""),
            m.kind,
            _tokens(m.context_window),
            _tokens(m.max_output),
            _price(m.input_price),
            _price(m.output_price),
            _price(m.cached_input_price) if m.cached_input_price is not None else "",
            caps,
            "✓" if configured else "",
        )
    # Piped output gets a wide table rather than rich's 80 columns, so rows stay whole.
    Console(width=None if sys.stdout.isatty() else 200).print(table)
