"""Context documents: files, globs, directories, git trees, PDFs, URLs; chunked, cited."""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from fluent_ai import FluentAI, ScriptedModel
from fluent_ai.agent.context import (
    ContextError,
    Document,
    chunk_documents,
    expand_braces,
    load_sources,
)
from fluent_ai.transport.fetch import BlockedAddressError


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_brace_expansion() -> None:
    assert expand_braces("docs/**/*.{md,txt}") == ["docs/**/*.md", "docs/**/*.txt"]
    assert expand_braces("{a,b}/{c,d}") == ["a/c", "a/d", "b/c", "b/d"]
    assert expand_braces("plain") == ["plain"]


async def test_files_globs_and_directories(tmp_path: Path) -> None:
    write(tmp_path / "docs/guide.md", "# Guide")
    write(tmp_path / "docs/deep/notes.txt", "notes")
    write(tmp_path / "docs/deep/skip.py", "print()")
    (tmp_path / "docs/blob.bin").write_bytes(b"\0\1\2")
    pattern = str(tmp_path / "docs/**/*.{md,txt}")
    documents = await load_sources([pattern])
    assert sorted(Path(d.source).name for d in documents) == ["guide.md", "notes.txt"]

    write(tmp_path / "proj/.gitignore", "build/\n*.log\n")
    write(tmp_path / "proj/src/app.py", "app")
    write(tmp_path / "proj/build/out.py", "generated")
    write(tmp_path / "proj/run.log", "log")
    write(tmp_path / "proj/src/.gitignore", "secret.txt\n")
    write(tmp_path / "proj/src/secret.txt", "secret")
    found = {Path(d.source).name for d in await load_sources([str(tmp_path / "proj")])}
    assert found == {".gitignore", "app.py"}, "ignored files, nested rules and binaries skipped"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    write(repo / ".gitignore", "*.tmp\n")
    write(repo / "tracked.md", "tracked")
    write(repo / "new.md", "untracked but not ignored")
    write(repo / "scratch.tmp", "ignored")
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run(["git", "-C", str(repo), "add", "tracked.md", ".gitignore"], check=True)
    return repo


async def test_a_git_tree_lists_what_git_would(repo: Path) -> None:
    found = {Path(d.source).name for d in await load_sources([str(repo)])}
    assert found == {".gitignore", "tracked.md", "new.md"}


def _pdf(text: str) -> bytes:
    """A one-page PDF whose page shows ``text`` (written by hand: an independent peer)."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        b"/Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


async def test_pdf_text_is_read(tmp_path: Path) -> None:
    (tmp_path / "report.pdf").write_bytes(_pdf("Quarterly revenue grew 12 percent"))
    [document] = await load_sources([str(tmp_path / "report.pdf")])
    assert "Quarterly revenue grew 12 percent" in document.text
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.4 not really")
    with pytest.raises(ContextError, match="not a readable PDF"):
        await load_sources([str(tmp_path / "broken.pdf")])


@pytest.fixture
def web() -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/moved":
                self.send_response(302)
                self.send_header("Location", "/page")
                self.end_headers()
                return
            body = b"<html><script>var x=1;</script><p>Opening hours: 9 to 5.</p></html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join(5)


async def test_urls_to_private_addresses_are_refused_by_default(web: str) -> None:
    with pytest.raises(BlockedAddressError, match="loopback"):
        await load_sources([f"{web}/page"])
    for address in ("http://169.254.169.254/latest/meta-data", "http://10.0.0.1/", "http://[::1]/"):
        with pytest.raises(BlockedAddressError):
            await load_sources([address])


async def test_an_allowed_url_is_fetched_through_redirects_as_text(web: str) -> None:
    [document] = await load_sources([f"{web}/moved"], allow_private_urls=True)
    assert document.source.endswith("/page")
    assert document.text == "Opening hours: 9 to 5."


def test_chunks_fit_the_budget_and_keep_their_source() -> None:
    long = "\n\n".join(f"Paragraph {i}. " + "word " * 200 for i in range(20))
    chunks, left_out = chunk_documents(
        [Document("a.md", "short"), Document("big.md", long)], budget_tokens=1500, chunk_tokens=400
    )
    assert chunks[0].source == "a.md"
    assert all(c.source in ("a.md", "big.md") for c in chunks)
    assert sum(len(c.text) // 4 for c in chunks) <= 1500
    assert left_out == ["big.md"]
    big = [c for c in chunks if c.source == "big.md"]
    assert [c.index for c in big] == list(range(1, len(big) + 1))
    assert all(c.total == big[0].total for c in big)


async def test_the_agent_reads_its_context_once_and_cites_sources(tmp_path: Path) -> None:
    doc = write(tmp_path / "policy.md", "Refunds are possible within 30 days.")
    model = ScriptedModel("Within 30 days (policy.md).", "Still 30 days.")
    agent = await FluentAI.agent().model(model).system_prompt("Be brief.").context(doc).abuild()
    await agent.chat("Refund window?").text()
    doc.write_text("changed")
    await agent.chat("Again?").text()
    for request in model.requests:
        system = request.messages[0].text
        assert system.startswith("Be brief.")
        assert f'<document source="{doc}" part="1/1">' in system
        assert "Refunds are possible within 30 days." in system


async def test_a_missing_source_fails_the_turn_with_a_clear_error(tmp_path: Path) -> None:
    agent = await FluentAI.agent().model(ScriptedModel("x")).context(tmp_path / "nope.md").abuild()
    with pytest.raises(ContextError, match="context source not found"):
        await agent.chat("hi").text()
    assert agent.history == ()
