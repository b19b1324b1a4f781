"""Context documents: files, globs, directories, git repositories, URLs and PDFs, cut into
chunks that fit the model's context budget, each chunk keeping its source.

``.context("README.md", "docs/**/*.{md,txt}", "src/", "https://example.com/guide")``:
files are read as UTF-8 text (PDFs through pypdf); a directory is walked respecting its
``.gitignore`` files; a git working tree lists what git tracks (``git ls-files``); a URL
is fetched through the transport with the SSRF guard of :mod:`fluent_ai.transport.fetch`.
Loading happens once per agent, at its first turn, off the event loop.
"""

from __future__ import annotations

import asyncio
import glob
import io
import logging
import os
import re
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from fluent_ai.errors import FluentAIError, InvalidParameterError
from fluent_ai.models.tokens import BYTES_PER_TOKEN

__all__ = [
    "ContextChunk",
    "ContextError",
    "Document",
    "chunk_documents",
    "load_sources",
    "render_context",
]

log = logging.getLogger("fluent_ai.context")

#: Files larger than this are skipped with a note (a context document, not a dataset).
MAX_FILE_BYTES = 5 * 1024 * 1024
#: Target size of one chunk, in estimated tokens.
CHUNK_TOKENS = 800
_BRACES = re.compile(r"\{([^{}]*)\}")


class ContextError(FluentAIError):
    """A context source could not be read (missing file, refused URL, bad PDF)."""


@dataclass(frozen=True, slots=True)
class Document:
    source: str
    text: str


@dataclass(frozen=True, slots=True)
class ContextChunk:
    """A piece of a document; ``index``/``total`` place it within its source."""

    source: str
    text: str
    index: int
    total: int


def expand_braces(pattern: str) -> list[str]:
    """``docs/*.{md,txt}`` → ``docs/*.md``, ``docs/*.txt`` (nested braces too)."""
    match = _BRACES.search(pattern)
    if match is None:
        return [pattern]
    head, tail = pattern[: match.start()], pattern[match.end() :]
    return [p for option in match.group(1).split(",") for p in expand_braces(head + option + tail)]


def _read_file(path: Path) -> Document:
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise ContextError(f"{path} is larger than {MAX_FILE_BYTES // 2**20} MiB")
    data = path.read_bytes()
    if path.suffix.lower() == ".pdf":
        return Document(str(path), pdf_text(data, str(path)))
    if b"\0" in data[:4096]:
        raise ContextError(f"{path} looks like a binary file, not text")
    return Document(str(path), data.decode("utf-8", errors="replace"))


def pdf_text(data: bytes, source: str) -> str:
    """The text of a PDF's pages, one after another."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        return "\n\n".join(page.extract_text() or "" for page in reader.pages)
    except (PdfReadError, ValueError, KeyError) as exc:
        raise ContextError(f"{source}: not a readable PDF: {exc}") from None


def _git_files(root: Path) -> list[Path] | None:
    """Files git tracks (and untracked, not ignored ones) under ``root``; None without git."""
    try:
        done = subprocess.run(
            [
                "git",
                "-C",
                str(root),
                "ls-files",
                "-z",
                "--cached",
                "--others",
                "--exclude-standard",
            ],
            capture_output=True,
            timeout=30,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return [root / name for name in done.stdout.decode().split("\0") if name]


def _walk(root: Path) -> list[Path]:
    """Files under ``root``, skipping ``.git`` and whatever its ``.gitignore`` files exclude."""
    import pathspec

    files: list[Path] = []
    specs: list[tuple[Path, pathspec.PathSpec[Any]]] = []
    for directory, dirnames, filenames in os.walk(root):
        here = Path(directory)
        ignore = here / ".gitignore"
        if ignore.is_file():
            lines = ignore.read_text("utf-8", errors="replace").splitlines()
            specs.append((here, pathspec.GitIgnoreSpec.from_lines(lines)))

        def ignored(path: Path, is_dir: bool) -> bool:
            for base, spec in specs:
                if base == path or base not in path.parents:
                    continue
                relative = path.relative_to(base).as_posix() + ("/" if is_dir else "")
                if spec.match_file(relative):
                    return True
            return False

        dirnames[:] = sorted(
            d for d in dirnames if d != ".git" and not ignored(here / d, is_dir=True)
        )
        files.extend(here / f for f in sorted(filenames) if not ignored(here / f, is_dir=False))
    return files


def _paths(source: str) -> list[Path]:
    path = Path(source).expanduser()
    if any(ch in source for ch in "*?[{"):
        found = sorted(
            {
                Path(p)
                for pattern in expand_braces(source)
                for p in glob.glob(pattern, recursive=True)
            }
        )
        if not found:
            raise ContextError(f"no file matches {source!r}")
        return [p for p in found if p.is_file()]
    if path.is_dir():
        if (path / ".git").exists():
            tracked = _git_files(path)
            if tracked is not None:
                return sorted(p for p in tracked if p.is_file())
        return _walk(path)
    if path.is_file():
        return [path]
    raise ContextError(f"context source not found: {source}")


def _load_local(source: str) -> list[Document]:
    """The documents of one local source; in a directory or glob, unreadable files (binary,
    too large) are skipped with a log line, but a single named file must be readable."""
    paths = _paths(source)
    documents = []
    for path in paths:
        try:
            documents.append(_read_file(path))
        except (ContextError, OSError) as exc:
            if len(paths) == 1 and path == Path(source).expanduser():
                raise ContextError(str(exc)) from None
            log.info("context: skipping %s: %s", path, exc)
    return documents


class _TextOfHtml(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "noscript"):
            self._skip += 1
        elif tag in ("p", "br", "div", "li", "h1", "h2", "h3", "h4", "tr"):
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "noscript") and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


async def _load_url(url: str, *, allow_private: bool) -> Document:
    from fluent_ai.transport.fetch import fetch

    got = await fetch(url, allow_private=allow_private)
    kind = got.content_type.split(";")[0].strip().lower()
    if kind == "application/pdf" or got.url.lower().endswith(".pdf"):
        return Document(got.url, await asyncio.to_thread(pdf_text, got.body, got.url))
    text = got.body.decode("utf-8", errors="replace")
    if "html" in kind:
        parser = _TextOfHtml()
        parser.feed(text)
        text = re.sub(r"\n\s*\n+", "\n\n", "".join(parser.parts)).strip()
    return Document(got.url, text)


async def load_sources(
    sources: Sequence[str], *, allow_private_urls: bool = False
) -> list[Document]:
    """Every source's documents, in the order given (files read in a worker thread)."""
    documents: list[Document] = []
    for source in sources:
        if source.startswith(("http://", "https://")):
            documents.append(await _load_url(source, allow_private=allow_private_urls))
        else:
            documents.extend(await asyncio.to_thread(_load_local, source))
    return documents


def _pieces(text: str, limit: int) -> list[str]:
    """``text`` cut at paragraph (else line, else hard) boundaries into ≤ ``limit`` bytes."""
    out: list[str] = []
    current = ""
    for block in re.split(r"(\n\s*\n)", text):
        if len((current + block).encode()) <= limit:
            current += block
            continue
        if current.strip():
            out.append(current.strip())
        current = ""
        while len(block.encode()) > limit:
            cut = block.rfind("\n", 0, limit) if "\n" in block[:limit] else limit
            cut = cut if cut > 0 else limit
            out.append(block[:cut].strip())
            block = block[cut:]
        current = block
    if current.strip():
        out.append(current.strip())
    return [piece for piece in out if piece]


def chunk_documents(
    documents: Iterable[Document], *, budget_tokens: int, chunk_tokens: int = CHUNK_TOKENS
) -> tuple[list[ContextChunk], list[str]]:
    """(chunks that fit ``budget_tokens``, in order; sources left out, whole or in part)."""
    chunks: list[ContextChunk] = []
    left_out: list[str] = []
    used = 0
    for document in documents:
        pieces = _pieces(document.text, chunk_tokens * BYTES_PER_TOKEN)
        for index, piece in enumerate(pieces):
            cost = len(piece.encode()) // BYTES_PER_TOKEN + 16
            if used + cost > budget_tokens:
                left_out.append(document.source)
                break
            chunks.append(ContextChunk(document.source, piece, index + 1, len(pieces)))
            used += cost
    return chunks, left_out


def render_context(chunks: Sequence[ContextChunk], left_out: Sequence[str]) -> str:
    """The chunks as tagged text for the system prompt, so answers can cite sources."""
    if not chunks and not left_out:
        return ""
    parts = [
        "Context documents follow. When you use one, cite its source.",
        *(
            f'<document source="{c.source}" part="{c.index}/{c.total}">\n{c.text}\n</document>'
            for c in chunks
        ),
    ]
    if left_out:
        parts.append(
            "Not included (over the context budget): " + ", ".join(dict.fromkeys(left_out))
        )
    return "\n\n".join(parts)


def check_sources(sources: Iterable[object]) -> tuple[str, ...]:
    """The builder's check: every source is a non-empty string or path."""
    out = []
    for source in sources:
        if isinstance(source, os.PathLike):
            source = os.fspath(source)
        if not isinstance(source, str) or not source.strip():
            raise InvalidParameterError("context", f"expected a path, glob or URL, got {source!r}")
        out.append(source.strip())
    return tuple(out)
