"""Export and import of one namespace as JSON lines, lossless.

The file is a header line, then one ``{"memory": …}`` line per memory (oldest first,
every field, the vector as a list of floats), then one ``{"relation": …}`` line per
relation (sorted). A float32 written as the shortest decimal of its float64 value reads
back bit for bit, and times keep their microseconds, so export → import into an empty
store → export gives the same bytes.

Import checks the whole file before writing anything, then stores all memories in one
transaction: a bad line leaves the store as it was and names the line. Vectors must come
from the embedding model this memory uses (else they would not be comparable); memories
exported without vectors are embedded on the way in.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from fluent_ai._validation import problems
from fluent_ai.memory.errors import InvalidMemoryError
from fluent_ai.memory.types import Memory, Relation

if TYPE_CHECKING:
    from fluent_ai.memory.manager import MemoryManager

__all__ = ["FORMAT", "export_jsonl", "import_jsonl"]

FORMAT = "fluent-ai-memory"
VERSION = 1
_PAGE = 1000


def _line(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), sort_keys=True) + "\n"


async def export_jsonl(manager: MemoryManager, path: Path) -> int:
    """Write the namespace to ``path`` (replaced atomically); returns the memory count."""
    await manager.open()
    store = manager.store
    space = await store.dimensions(manager.namespace)
    header = {
        "format": FORMAT,
        "version": VERSION,
        "namespace": manager.namespace,
        "embedding": {"model": space.model, "dimensions": space.dimensions} if space else None,
    }
    lines = [_line(header)]
    ids: list[str] = []
    while True:
        page = await store.list(
            manager.namespace, None, limit=_PAGE, offset=len(ids), with_embeddings=True
        )
        ids.extend(m.id for m in page)
        lines.extend(_line({"memory": m.model_dump(mode="json")}) for m in page)
        if len(page) < _PAGE:
            break
    relations: dict[tuple[str, str, str], Relation] = {}
    for start in range(0, len(ids), _PAGE):
        for relation in await store.neighbours(ids[start : start + _PAGE]):
            relations[(relation.source_id, relation.target_id, relation.type)] = relation
    lines.extend(
        _line({"relation": relations[key].model_dump(mode="json")}) for key in sorted(relations)
    )
    await asyncio.to_thread(_write, path, "".join(lines))
    return len(ids)


def _write(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.partial")
    temporary.write_text(text, encoding="utf-8")
    temporary.replace(path)


async def import_jsonl(manager: MemoryManager, path: Path) -> int:
    """Read ``path`` into the namespace, all memories or none; returns how many."""
    text = await asyncio.to_thread(_read, path)
    memories, relations, model = _parse(text, path, manager.namespace)
    if model is not None and model != manager.embedder.model_id:
        raise InvalidMemoryError(
            f"{path}: its vectors come from {model!r} but this memory embeds with "
            f"{manager.embedder.model_id!r}; import it with that embedder"
        )
    known = {m.id for m in memories}
    outside = {end for r in relations for end in (r.source_id, r.target_id)} - known
    if outside:
        present = {m.id for m in await manager.store.get(sorted(outside))}
        missing = sorted(outside - present)
        if missing:
            raise InvalidMemoryError(
                f"{path}: relations point at memories that are in neither the file nor the "
                f"store: {', '.join(missing[:5])}"
            )
    await manager.remember_many(memories)
    for relation in relations:
        await manager.store.relate(relation)
    return len(memories)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidMemoryError(f"{path}: no such file") from None
    except UnicodeDecodeError as exc:
        raise InvalidMemoryError(f"{path}: not UTF-8 text ({exc.reason})") from None


def _parse(
    text: str, path: Path, namespace: str
) -> tuple[list[Memory], list[Relation], str | None]:
    lines = text.splitlines()
    if not lines:
        raise InvalidMemoryError(f"{path}: the file is empty")
    header = _json(lines[0], path, 1)
    if header.get("format") != FORMAT or header.get("version") != VERSION:
        raise InvalidMemoryError(
            f"{path}: not a fluent-ai memory export (want format {FORMAT!r} version {VERSION})"
        )
    embedding = header.get("embedding")
    model = embedding.get("model") if isinstance(embedding, dict) else None
    memories: list[Memory] = []
    relations: list[Relation] = []
    for number, raw in enumerate(lines[1:], start=2):
        if not raw.strip():
            continue
        record = _json(raw, path, number)
        try:
            if set(record) == {"memory"} and isinstance(record["memory"], dict):
                memories.append(Memory.model_validate({**record["memory"], "namespace": namespace}))
            elif set(record) == {"relation"}:
                relations.append(Relation.model_validate(record["relation"]))
            else:
                raise InvalidMemoryError(f"{path}:{number}: expected a memory or a relation line")
        except ValidationError as exc:
            raise InvalidMemoryError(f"{path}:{number}: {problems(exc)}") from None
    return memories, relations, model if isinstance(model, str) else None


def _json(raw: str, path: Path, number: int) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise InvalidMemoryError(f"{path}:{number}: not JSON ({exc.msg})") from None
    if not isinstance(value, dict):
        raise InvalidMemoryError(f"{path}:{number}: a line must be a JSON object")
    return value
