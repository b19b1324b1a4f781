"""Search-result snippets: the best window of a message with the matches marked.

The window (about ``width`` characters) is the one holding the most *different*
query words, then the most matches; it is centred on them, cut only at whitespace
(a word is never split unless one word alone is wider than the window), and gets an
ellipsis on each side where text was left out. Whitespace inside it collapses to
single spaces so a snippet is one line.

What counts as a match mirrors :func:`fluent_ai.chat.query_match.matches`, plus a
light English suffix folding for plain words (``teas`` and ``tea``, ``running`` and
``run``) because the stores' indexes stem and found the message through such forms.
Words under NOT are never marked. :func:`highlight_html` escapes everything except
its marks, so a message containing ``<script>`` cannot inject markup.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterator

from fluent_ai.chat.query_ast import And, Near, Node, Not, Or, Phrase, Term
from fluent_ai.chat.query_match import Document, fold, leaf_positions, near_spans

__all__ = ["highlight", "highlight_html"]

_SPACES = re.compile(r"\s+")
_VOWEL = re.compile(r"[aeiouy]")
Hit = tuple[int, int, str]  # character start, end, which query part


def highlight(
    text: str, node: Node, *, width: int = 160, mark: tuple[str, str] = ("[", "]")
) -> str:
    """A one-line snippet of ``text`` around the matches of ``node``, marked with ``mark``."""
    return _render(text, node, width, mark, escape=lambda part: part)


def highlight_html(
    text: str,
    node: Node,
    *,
    width: int = 160,
    mark: tuple[str, str] = ("<mark>", "</mark>"),
) -> str:
    """:func:`highlight` for HTML: the text is escaped, the marks are inserted as given."""
    return _render(text, node, width, mark, escape=html.escape)


def _render(
    text: str, node: Node, width: int, mark: tuple[str, str], escape: Callable[[str], str]
) -> str:
    if width < 1:
        raise ValueError("width must be >= 1")
    hits = sorted(_hits(node, Document.of(text)))
    start, end = _window(text, hits, width)
    pieces: list[str] = ["…"] if start > 0 else []
    cursor = start
    for first, last in _merge(hits):
        first, last = max(first, start), min(last, end)
        if first >= last:
            continue
        pieces += [_flat(text[cursor:first], escape), mark[0], _flat(text[first:last], escape)]
        pieces.append(mark[1])
        cursor = last
    pieces.append(_flat(text[cursor:end], escape))
    if end < len(text):
        pieces.append("…")
    return "".join(pieces)


def _flat(part: str, escape: Callable[[str], str]) -> str:
    return escape(_SPACES.sub(" ", part))


def _hits(node: Node, document: Document) -> Iterator[Hit]:
    """Character ranges to mark: every occurrence of a word the query looks for."""
    if isinstance(node, And | Or):
        for operand in node.operands:
            yield from _hits(operand, document)
    elif isinstance(node, Not):
        return
    elif isinstance(node, Near):
        key = repr(node)
        for first, last in near_spans(node, document):
            yield document.spans[first][0], document.spans[last][1], key
    else:
        length = len(node.words) if isinstance(node, Phrase) else 1
        key = repr(node)
        starts = _loose_term(node, document) if isinstance(node, Term) else None
        for first in starts if starts is not None else leaf_positions(node, document):
            yield document.spans[first][0], document.spans[first + length - 1][1], key


def _loose_term(term: Term, document: Document) -> list[int]:
    target = _suffix_fold(fold(term.word))
    return [i for i, word in enumerate(document.words) if _suffix_fold(word) == target]


def _suffix_fold(word: str) -> str:
    """Roughly Porter's steps 1a to 1c: plurals, ``-ed``, ``-ing`` and a final ``y``."""
    if word.endswith("sses") or word.endswith("ies"):
        word = word[:-2]
    elif word.endswith("s") and not word.endswith("ss") and len(word) > 3:
        word = word[:-1]
    for suffix in ("ing", "ed"):
        stem = word[: -len(suffix)]
        if word.endswith(suffix) and len(stem) >= 3 and _VOWEL.search(stem):
            if stem[-1] == stem[-2] and stem[-1] not in "lsz":
                stem = stem[:-1]
            word = stem
            break
    return word[:-1] + "i" if len(word) > 2 and word.endswith("y") else word


def _merge(hits: list[Hit]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for first, last, _ in hits:
        if merged and first <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], last))
        else:
            merged.append((first, last))
    return merged


def _window(text: str, hits: list[Hit], width: int) -> tuple[int, int]:
    """The ``(start, end)`` character range to show, cut at whitespace."""
    if len(text) <= width:
        return 0, len(text)
    if not hits:
        return _snap(text, 0, width, keep=None)
    best: tuple[int, int, int] | None = None
    chosen = (0, 0)
    for index, (first, _, _) in enumerate(hits):
        inside = [hit for hit in hits[index:] if hit[1] <= first + width] or [hits[index]]
        score = (len({key for _, _, key in inside}), len(inside), -index)
        if best is None or score > best:
            best, chosen = score, (first, max(hit[1] for hit in inside))
    first, last = chosen
    start = max(0, first - max(0, width - (last - first)) // 2)
    end = min(len(text), start + width)
    return _snap(text, max(0, end - width), end, keep=chosen)


def _snap(text: str, start: int, end: int, keep: tuple[int, int] | None) -> tuple[int, int]:
    """Move ``start``/``end`` to whitespace, never past ``keep`` (the matches shown)."""
    keep_start, keep_end = keep if keep is not None else (len(text), 0)
    original = (start, end)
    if 0 < start < len(text) and not text[start - 1].isspace():
        forward = _next_space(text, start)
        start = forward if forward <= keep_start else _chunk_start(text, start)
    if 0 < end < len(text) and not text[end].isspace():
        backward = _chunk_start(text, end)
        end = backward if backward >= keep_end else _next_space(text, end)
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return (start, end) if start < end else original


def _next_space(text: str, position: int) -> int:
    while position < len(text) and not text[position].isspace():
        position += 1
    return position


def _chunk_start(text: str, position: int) -> int:
    while position > 0 and not text[position - 1].isspace():
        position -= 1
    return position
