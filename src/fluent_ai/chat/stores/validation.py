"""Argument checks shared by every chat store, run before any I/O.

Wrong types, malformed ids, empty or oversized values become one clear
``InvalidChatDataError`` here, so backends only ever see well-formed input.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import numpy as np

from fluent_ai.chat.stores.errors import InvalidChatDataError
from fluent_ai.chat.types import Branch, ChatMessage, ConversationRecord, HistoryFilter

__all__ = [
    "MAX_BATCH",
    "check_branch_name",
    "check_dump",
    "check_filter",
    "check_id",
    "check_ids",
    "check_instant",
    "check_k",
    "check_messages",
    "check_model",
    "check_page",
    "check_prefix",
    "check_query",
    "check_query_vector",
    "check_record",
    "check_tag",
    "check_tags",
    "check_vectors",
]

_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:@\-]*")
_TAG = re.compile(r"[^\s,]+")
#: Most messages (or ids, or vectors) one call takes.
MAX_BATCH = 100_000
MAX_QUERY_CHARS = 10_000
MAX_LIMIT = 10_000


def _fail(message: str) -> InvalidChatDataError:
    return InvalidChatDataError(message)


def check_id(value: object, what: str = "id") -> str:
    if not isinstance(value, str):
        raise _fail(f"{what} must be a string, got {type(value).__name__}")
    if not 1 <= len(value) <= 128 or not _ID.fullmatch(value):
        raise _fail(f"{what} {value[:140]!r} is not a valid id (letters, digits, _.:@-)")
    return value


def check_branch_name(value: object) -> str:
    return check_id(value, "branch name")


def check_ids(values: object, what: str = "ids") -> list[str]:
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
        raise _fail(f"{what} must be a sequence of strings")
    if len(values) > MAX_BATCH:
        raise _fail(f"at most {MAX_BATCH} {what} per call")
    for value in values:
        if not isinstance(value, str):
            raise _fail(f"{what} must be strings, got {type(value).__name__}")
    return list(values)


def check_record(record: object) -> ConversationRecord:
    if not isinstance(record, ConversationRecord):
        raise _fail(f"expected a ConversationRecord, got {type(record).__name__}")
    return record


def check_messages(messages: object, conversation_id: str) -> list[ChatMessage]:
    if isinstance(messages, ChatMessage):
        raise _fail("messages must be a sequence of ChatMessage (wrap one in a list)")
    if not isinstance(messages, Sequence) or isinstance(messages, (str, bytes)):
        raise _fail("messages must be a sequence of ChatMessage")
    if len(messages) > MAX_BATCH:
        raise _fail(f"at most {MAX_BATCH} messages per call")
    checked: list[ChatMessage] = []
    for message in messages:
        if not isinstance(message, ChatMessage):
            raise _fail(f"expected a ChatMessage, got {type(message).__name__}")
        if message.conversation_id != conversation_id:
            raise _fail(
                f"message {message.id} belongs to conversation {message.conversation_id}, "
                f"not {conversation_id}"
            )
        checked.append(message)
    return checked


def check_filter(value: object) -> HistoryFilter | None:
    if value is not None and not isinstance(value, HistoryFilter):
        raise _fail(f"filter must be a HistoryFilter, got {type(value).__name__}")
    return value


def _int(name: str, value: object, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise _fail(f"{name} must be an integer from {low} to {high}")
    return value


def check_page(limit: object, offset: object) -> tuple[int, int]:
    return _int("limit", limit, 1, MAX_LIMIT), _int("offset", offset, 0, 10**9)


def check_k(k: object) -> int:
    return _int("k", k, 1, MAX_LIMIT)


def check_instant(value: object, name: str) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise _fail(f"{name} must be a timezone-aware datetime")
    return value


def check_tag(value: object) -> str:
    if not isinstance(value, str) or not 1 <= len(value) <= 64 or not _TAG.fullmatch(value):
        raise _fail(f"invalid tag {str(value)[:80]!r} (1-64 characters, no spaces or commas)")
    return value.lower()


def check_tags(values: object) -> list[str]:
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
        raise _fail("tags must be a sequence of strings")
    return sorted({check_tag(value) for value in values})


def check_query(value: object) -> str:
    if not isinstance(value, str):
        raise _fail(f"a search query must be a string, got {type(value).__name__}")
    if not value.strip():
        raise _fail("a search query must not be empty")
    if len(value) > MAX_QUERY_CHARS:
        raise _fail(f"a search query is at most {MAX_QUERY_CHARS} characters")
    if "\x00" in value:
        raise _fail("a search query must not contain NUL characters")
    return value


def check_prefix(value: object) -> str:
    if not isinstance(value, str) or len(value) > 200 or "\x00" in value:
        raise _fail("starts_with must be a string of at most 200 characters")
    return value.lower()


def check_model(value: object) -> str:
    if not isinstance(value, str) or not 1 <= len(value) <= 200 or not value.strip():
        raise _fail("model must be a non-empty string of at most 200 characters")
    return value


def _vector(value: object, what: str) -> np.ndarray[Any, np.dtype[np.float32]]:
    try:
        array = np.asarray(value, dtype=np.float32)
    except (TypeError, ValueError):
        raise _fail(f"{what} must be a 1-D array of numbers") from None
    if array.ndim != 1 or not 1 <= len(array) <= 16_000:
        raise _fail(f"{what} must be a 1-D array of 1 to 16,000 numbers")
    if not np.isfinite(array).all() or not math.isfinite(float(np.linalg.norm(array))):
        raise _fail(f"{what} must hold finite numbers")
    if not np.any(array):
        raise _fail(f"{what} must not be all zeros (it has no direction)")
    return np.ascontiguousarray(array)


def check_query_vector(value: object) -> np.ndarray[Any, np.dtype[np.float32]]:
    return _vector(value, "the query vector")


def check_vectors(items: object) -> dict[str, np.ndarray[Any, np.dtype[np.float32]]]:
    if not isinstance(items, Mapping):
        raise _fail("vectors must be a mapping of message id to vector")
    if len(items) > MAX_BATCH:
        raise _fail(f"at most {MAX_BATCH} vectors per call")
    checked = {
        check_id(key, "message id"): _vector(value, "a vector") for key, value in items.items()
    }
    if len({len(vector) for vector in checked.values()}) > 1:
        raise _fail("every vector of one call must have the same dimension")
    return checked


def check_dump(
    record: object, branches: object, messages: object
) -> tuple[ConversationRecord, list[Branch], list[ChatMessage]]:
    """An import's parts, consistent with each other (parents and heads inside the batch)."""
    checked_record = check_record(record)
    checked = check_messages(messages, checked_record.id)
    if isinstance(branches, (str, bytes)) or not isinstance(branches, Sequence):
        raise _fail("branches must be a sequence of Branch")
    names: set[str] = set()
    ids = [message.id for message in checked]
    known = set(ids)
    if len(known) != len(ids):
        raise _fail("an imported conversation lists a message id twice")
    for branch in branches:
        if not isinstance(branch, Branch) or branch.conversation_id != checked_record.id:
            raise _fail(f"every branch must be a Branch of conversation {checked_record.id}")
        if branch.name in names:
            raise _fail(f"branch {branch.name!r} is listed twice")
        names.add(branch.name)
        for ref in (branch.head_id, branch.forked_from):
            if ref is not None and ref not in known:
                raise _fail(f"branch {branch.name!r} points at message {ref}, not in the import")
    if checked_record.current_branch not in names:
        raise _fail(f"the current branch {checked_record.current_branch!r} is not among branches")
    for message in checked:
        if message.parent_id is not None and message.parent_id not in known:
            raise _fail(f"message {message.id}'s parent {message.parent_id} is not in the import")
    return checked_record, list(branches), checked
