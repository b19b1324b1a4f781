"""The JSON format: lossless round trips (hypothesis) and clear errors on bad files."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fluent_ai.chat.export import (
    FORMAT_VERSION,
    ConversationDump,
    HistoryImportError,
    UnsupportedVersionError,
    from_json,
    to_json,
)
from fluent_ai.chat.types import Branch, ChatMessage, ConversationRecord
from fluent_ai.types import ImagePart, Message, Reasoning, Role, TextPart, ToolCall

# Every code point, lone surrogates included: the ASCII-only output must carry them.
texts = st.text(st.characters(exclude_categories=()), max_size=20)
optional_texts = st.none() | texts
zones = st.just(UTC) | st.builds(
    timezone, st.timedeltas(min_value=timedelta(hours=-23), max_value=timedelta(hours=23))
)
times = st.datetimes(
    min_value=datetime(1970, 1, 2), max_value=datetime(2200, 1, 1), timezones=zones
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | texts,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
    max_leaves=8,
)
metadata = st.dictionaries(texts, json_values, max_size=3)
parts = st.builds(TextPart, texts) | st.builds(ImagePart, texts, optional_texts)
messages = st.builds(
    Message,
    st.sampled_from(Role),
    texts | st.lists(parts, max_size=3).map(tuple),
    tool_calls=st.lists(st.builds(ToolCall, texts, texts, texts, optional_texts), max_size=2).map(
        tuple
    ),
    tool_call_id=optional_texts,
    name=optional_texts,
    reasoning=st.lists(
        st.builds(Reasoning, texts, optional_texts, optional_texts, texts), max_size=2
    ).map(tuple),
)
tags = st.lists(st.from_regex(r"[^\s,]{1,12}", fullmatch=True), max_size=3)


@st.composite
def dumps(draw: st.DrawFn, cid: str = "c1") -> ConversationDump:
    """A random tree of messages with a few branches on it."""
    count = draw(st.integers(0, 6))
    stored = []
    for index in range(count):
        parent = draw(st.none() | st.integers(0, index - 1)) if index else None
        stored.append(
            ChatMessage(
                id=f"m{index}",
                conversation_id=cid,
                parent_id=None if parent is None else f"m{parent}",
                message=draw(messages),
                model=draw(texts),
                input_tokens=draw(st.integers(0, 10**9)),
                output_tokens=draw(st.integers(0, 10**9)),
                cost_usd=draw(st.none() | st.floats(min_value=0, allow_nan=False)),
                status=draw(st.sampled_from(["complete", "failed", "cancelled"])),
                error=draw(optional_texts),
                created_at=draw(times),
                metadata=draw(metadata),
            )
        )
    names = ["main", *draw(st.lists(st.sampled_from(["alt", "b.2", "x-y"]), unique=True))]
    heads = st.none() | st.sampled_from([m.id for m in stored]) if stored else st.none()
    branches = [
        Branch(
            conversation_id=cid,
            name=name,
            head_id=draw(heads),
            forked_from=draw(heads),
            created_at=draw(times),
        )
        for name in names
    ]
    record = ConversationRecord(
        id=cid,
        title=draw(st.text(st.characters(exclude_categories=()), max_size=40)),
        session=draw(st.none() | st.just("s:1")),
        tags=draw(tags),
        agent=draw(texts),
        model=draw(texts),
        current_branch=draw(st.sampled_from(names)),
        created_at=draw(times),
        updated_at=draw(times),
        metadata=draw(metadata),
    )
    return ConversationDump(record=record, branches=branches, messages=stored)


def text_of(value: Any) -> str:
    return "".join(to_json(value))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(dumps(), max_size=1), dumps(cid="c2"))
def test_export_import_export_is_identical(
    first: list[ConversationDump], second: ConversationDump
) -> None:
    original = [*first, second]
    text = text_of(original)
    assert text.isascii()
    back = from_json(text)
    assert text_of(back) == text
    assert back == original
    for old, new in zip(original, back, strict=True):
        assert [m.message for m in new.messages] == [m.message for m in old.messages]


@settings(max_examples=50, deadline=None)
@given(dumps(), st.randoms(use_true_random=False))
def test_input_order_never_changes_the_bytes(dump: ConversationDump, rng: random.Random) -> None:
    messages, branches = list(dump.messages), list(dump.branches)
    rng.shuffle(messages)
    rng.shuffle(branches)
    shuffled = ConversationDump(record=dump.record, branches=branches, messages=messages)
    assert text_of(shuffled) == text_of(dump)
    positions = {m.id: i for i, m in enumerate(shuffled.messages)}
    for message in shuffled.messages:
        if message.parent_id is not None:
            assert positions[message.parent_id] < positions[message.id], "parents first"


def test_empty_export_round_trips() -> None:
    text = text_of([])
    assert text == '{"conversations":[\n],"format":"fluent-ai-history","version":1}\n'
    assert from_json(text) == []
    assert from_json(text.encode()) == []


# -- bad files -------------------------------------------------------------------------


def valid() -> dict[str, Any]:
    record = ConversationRecord(id="conv", title="t")
    first = ChatMessage(id="a", conversation_id="conv", message=Message.user("hi"))
    second = ChatMessage(
        id="b",
        conversation_id="conv",
        parent_id="a",
        message=Message.assistant("yo", (ToolCall("c", "f", "{}", "sig"),)),
    )
    dump = ConversationDump(
        record=record,
        branches=[Branch(conversation_id="conv", name="main", head_id="b")],
        messages=[first, second],
    )
    data: dict[str, Any] = json.loads(text_of([dump]))
    return data


def message(data: dict[str, Any], index: int = 1) -> dict[str, Any]:
    found: dict[str, Any] = data["conversations"][0]["messages"][index]
    return found


@pytest.mark.parametrize(
    ("spoil", "expected"),
    [
        (
            lambda d: message(d)["message"]["tool_calls"][0].update(id=3),
            "conversations[0].messages[1].message.tool_calls[0].id: must be text, got int",
        ),
        (
            lambda d: message(d)["message"].update(role="wizard"),
            "conversations[0].messages[1].message.role: unknown role 'wizard'",
        ),
        (
            lambda d: message(d).update(parent_id="zzz"),
            "conversations[0].messages[1].parent_id: no message 'zzz' in this conversation",
        ),
        (
            lambda d: message(d).update(created_at="yesterday"),
            "conversations[0].messages[1].created_at: Input should be a valid datetime",
        ),
        (
            lambda d: message(d).update(created_at="2025-01-01T00:00:00"),
            "conversations[0].messages[1].created_at: Input should have timezone info",
        ),
        (
            lambda d: message(d).update(input_tokens=-1),
            "conversations[0].messages[1].input_tokens: Input should be greater than or equal",
        ),
        (
            lambda d: message(d).update(surprise=1),
            "conversations[0].messages[1].surprise: Extra inputs are not permitted",
        ),
        (
            lambda d: message(d).pop("message"),
            "conversations[0].messages[1].message: Field required",
        ),
        (
            lambda d: message(d).update(id="a"),
            "conversations[0].messages[1].id: message 'a' appears twice",
        ),
        (
            lambda d: message(d).update(conversation_id="other"),
            "conversations[0].messages[1].conversation_id: 'other' is not this conversation",
        ),
        (
            lambda d: message(d, 0).update(parent_id="b"),
            "conversations[0].messages: parent links form a cycle",
        ),
        (
            lambda d: d["conversations"][0]["branches"][0].update(head_id="nope"),
            "conversations[0].branches[0].head_id: no message 'nope'",
        ),
        (
            lambda d: d["conversations"][0]["branches"].clear(),
            "conversations[0].branches: a conversation with messages needs at least one branch",
        ),
        (
            lambda d: d["conversations"][0]["record"].update(current_branch="gone"),
            "conversations[0].record.current_branch: no branch named 'gone'",
        ),
        (
            lambda d: d["conversations"][0]["record"].update(title="x" * 501),
            "conversations[0].record.title: String should have at most 500 characters",
        ),
        (
            lambda d: d["conversations"][0]["record"].update(tags=["two words"]),
            "conversations[0].record.tags[0]: String should match pattern",
        ),
        (
            lambda d: d["conversations"].append(d["conversations"][0]),
            "conversations[1].record.id: conversation 'conv' appears twice",
        ),
        (
            lambda d: d["conversations"].append("nope"),
            "conversations[1]: Input should be a valid dictionary",
        ),
        (
            lambda d: d["conversations"].__setitem__(0, {}),
            "conversations[0].record: Field required",
        ),
        (lambda d: d.update(conversations={}), "conversations: must be a list"),
        (lambda d: d.update(format="something-else"), "format: not a fluent-ai history export"),
        (lambda d: d.update(extra=1), "extra: Extra inputs are not permitted"),
    ],
)
def test_bad_fields_are_named(spoil: Any, expected: str) -> None:
    data = valid()
    spoil(data)
    with pytest.raises(HistoryImportError) as caught:
        from_json(json.dumps(data))
    assert expected in str(caught.value)
    assert caught.value.location == expected.split(":")[0]


def test_errors_inside_a_conversation_name_its_id() -> None:
    data = valid()
    message(data).update(role=1)
    with pytest.raises(HistoryImportError, match=r"\(in conversation 'conv'\)"):
        from_json(json.dumps(data))


@pytest.mark.parametrize("version", [0, 2, "1", None, True, 1.5])
def test_unknown_versions_are_refused(version: object) -> None:
    data = valid()
    data["version"] = version
    with pytest.raises(UnsupportedVersionError) as caught:
        from_json(json.dumps(data))
    assert caught.value.version == version
    assert f"reads version {FORMAT_VERSION}" in str(caught.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "not JSON: Expecting value at line 1 column 1"),
        ('{"conversations": [', "not JSON"),
        ("[]", "expected a JSON object, got a list"),
        ("null", "expected a JSON object, got null"),
        (b"\xff\xfe{}", "not"),
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ],
)
def test_malformed_documents_fail_clearly(text: str | bytes, expected: str) -> None:
    with pytest.raises(HistoryImportError, match=expected):
        from_json(text)


def test_wrong_argument_type_is_refused() -> None:
    with pytest.raises(HistoryImportError, match="expected JSON text, got dict"):
        from_json({"format": "fluent-ai-history"})  # type: ignore[arg-type]


def test_non_finite_metadata_survives_a_round_trip() -> None:
    data = valid()
    data["conversations"][0]["record"]["metadata"] = {"x": 1.5}
    dump = from_json(json.dumps(data))[0]
    dump.record.metadata = {"inf": float("inf"), "nan": float("nan")}
    text = text_of([dump])
    assert text_of(from_json(text)) == text
