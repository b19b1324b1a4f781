"""Package-level promises: a cheap import, a complete public surface, typed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import fluent_ai

HEAVY = ("httpx", "httpx2", "pydantic", "pydantic_settings", "jinja2", "xllamacpp", "rich", "typer")


def test_import_does_not_load_heavy_dependencies() -> None:
    code = f"import sys, fluent_ai; print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "", f"imported eagerly: {out.stdout.strip()}"


def test_every_public_name_resolves() -> None:
    for name in fluent_ai.__all__:
        assert getattr(fluent_ai, name) is not None, name


def test_unknown_attribute_is_attribute_error() -> None:
    with pytest.raises(AttributeError, match="DoesNotExist"):
        fluent_ai.DoesNotExist  # noqa: B018 - the module __getattr__ makes this Any to mypy


def test_package_is_typed() -> None:
    assert (Path(fluent_ai.__file__).parent / "py.typed").is_file()
