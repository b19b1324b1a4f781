"""Automatic keyword tags on realistic conversations, and hand-written tags cleaned."""

from __future__ import annotations

import pytest

from fluent_ai.chat.tags import Background, auto_tags, keyword_scores, normalise_tag
from fluent_ai.chat.types import ChatMessage, ConversationRecord
from fluent_ai.errors import InvalidParameterError
from fluent_ai.types import Message, Role

POSTGRES = [
    Message.system("You are a helpful assistant. Answer concisely."),
    Message.user(
        "My PostgreSQL query on the orders table takes 5 seconds. How do I speed up slow "
        "queries like this?"
    ),
    Message.assistant(
        "Run EXPLAIN ANALYZE on the query first. If PostgreSQL does a sequential scan on "
        "orders, an index on the filtered columns usually fixes it."
    ),
    Message.user("EXPLAIN shows a seq scan on orders filtered by customer_id. Which index?"),
    Message.assistant(
        "Create a composite index:\n```sql\nCREATE INDEX orders_customer_idx ON orders "
        "(customer_id, created_at);\n```\nThen run ANALYZE so the planner has fresh "
        "statistics, and the query should use an index scan."
    ),
]
DOCKER = [
    Message.user("My Docker container exits immediately after docker run. Why?"),
    Message.assistant(
        "A container stops when its main process ends. Check the logs with docker logs and "
        "make sure the CMD in your Dockerfile runs a foreground process."
    ),
    Message.user("The Dockerfile CMD starts nginx as a daemon, I think that's the problem."),
    Message.assistant(
        "Yes: run nginx with daemon off so it stays in the foreground and the container "
        "keeps running."
    ),
]
PHOTOS = [
    Message.user(
        "Can you help me write a Python script that renames all the photos in a folder by "
        "their EXIF date?"
    ),
    Message.assistant(
        "Sure. Read the EXIF DateTimeOriginal field with Pillow and rename each photo with "
        "pathlib. Photos without EXIF data are skipped."
    ),
    Message.user("It crashes on photos that have no EXIF data at all."),
    Message.assistant("Check for a missing EXIF tag before renaming and skip that photo."),
]


def test_tags_name_the_topic() -> None:
    assert set(auto_tags(POSTGRES)) == {"orders", "query", "index"}
    assert "postgresql" in auto_tags(POSTGRES, limit=5)
    assert set(auto_tags(DOCKER)) == {"container", "docker", "dockerfile"}
    assert set(auto_tags(PHOTOS, limit=2)) == {"exif", "photo"}


def test_plurals_fold_onto_a_singular_that_occurs() -> None:
    scores = dict(keyword_scores(POSTGRES))
    assert "query" in scores
    assert "queries" not in scores
    alone = auto_tags([Message.user("postgres postgres postgres kubernetes analysis")])
    assert alone == ["postgres", "kubernetes", "analysis"], "no singular seen: kept as written"
    merged = auto_tags([Message.user("libraries and a library, libraries again")], limit=1)
    assert merged == ["library"]


def test_background_sinks_words_every_conversation_uses() -> None:
    python_everywhere = [
        [Message.user(f"Python question about {topic}, python again")]
        for topic in ("decorators", "generators", "asyncio", "typing")
    ]
    topic = [Message.user("Python generators: how does yield work in python generators?")]
    assert auto_tags(topic, limit=1) == ["python"]
    background = Background.from_conversations(python_everywhere)
    assert background.documents == 4
    assert auto_tags(topic, limit=1, background=background) == ["generators"]


def test_tags_fit_conversation_records_and_are_deterministic() -> None:
    stored = [ChatMessage(conversation_id="c", message=m) for m in PHOTOS]
    tags = auto_tags(stored, title="Rename photos by EXIF date", limit=10)
    assert tags == auto_tags(stored, title="Rename photos by EXIF date", limit=10)
    record = ConversationRecord(tags=tags)
    assert sorted(record.tags) == sorted(tags)
    for tag in tags:
        assert tag == tag.lower()
        assert not any(c.isspace() or c == "," for c in tag)


def test_title_and_first_mention_count_more() -> None:
    messages = [Message.user("kafka partitions and rabbitmq queues"), Message.user("done")]
    assert auto_tags(messages, limit=1) == ["kafka"], "first mentioned wins a tie"
    assert auto_tags(messages, title="RabbitMQ", limit=1) == ["rabbitmq"]


def test_system_tool_code_and_urls_weigh_little_or_nothing() -> None:
    messages = [
        Message.system("kubernetes kubernetes kubernetes"),
        Message(Role.TOOL, "terraform terraform terraform", tool_call_id="1"),
        Message.user(
            "Explain recursion please, see https://example.com/fibonacci for context.\n"
            "```python\ndef fib(n): return fib(n - 1) + fib(n - 2) if n > 1 else n\n"
            "fib(10); fib(20); fib(30)\n```"
        ),
    ]
    tags = auto_tags(messages, limit=10)
    assert tags[0] == "recursion"
    assert "kubernetes" not in tags
    assert "terraform" not in tags
    assert "https" not in tags
    assert "example.com" not in tags
    assert "fib" in tags, "code still counts, less"


def test_technical_tokens_survive() -> None:
    tags = auto_tags([Message.user("Porting C++ and C# code to node.js with gpt-4o")], limit=10)
    assert {"c++", "c#", "node.js", "gpt-4o"} <= set(tags)


def test_nothing_to_tag() -> None:
    assert auto_tags([]) == []
    assert auto_tags([Message.user("Hi! Thanks, that's great, could you help me?")]) == []
    assert auto_tags(POSTGRES, limit=0) == []
    assert auto_tags([Message.user("2024 3.11 42 ... !!!")]) == []


def test_huge_pastes_are_cut() -> None:
    paste = "zebra " * 50_000 + " walrus " * 1000
    assert "walrus" not in auto_tags([Message.user(paste)], limit=10)


@pytest.mark.parametrize("limit", [-1, 1.5, "3", True])
def test_bad_limits_are_refused(limit: object) -> None:
    with pytest.raises(InvalidParameterError, match="limit"):
        auto_tags(POSTGRES, limit=limit)  # type: ignore[arg-type]


def test_bad_messages_are_refused() -> None:
    with pytest.raises(InvalidParameterError, match="expected ChatMessage or Message, got str"):
        auto_tags(["just a string"])  # type: ignore[list-item]


@pytest.mark.parametrize(
    ("text", "tag"),
    [
        ("Machine Learning", "machine-learning"),
        ("  a,b ,, c  ", "a-b-c"),
        ("PostgreSQL", "postgresql"),
        ("c++", "c++"),
        ("日本語", "日本語"),
    ],
)
def test_hand_written_tags_are_normalised(text: str, tag: str) -> None:
    assert normalise_tag(text) == tag
    assert ConversationRecord(tags=[normalise_tag(text)]).tags == [tag]


@pytest.mark.parametrize(
    ("text", "problem"),
    [("", "no letters"), (" , ", "no letters"), ("x" * 65, "at most 64"), (3, "must be text")],
)
def test_bad_hand_written_tags_are_refused(text: object, problem: str) -> None:
    with pytest.raises(InvalidParameterError, match=problem):
        normalise_tag(text)  # type: ignore[arg-type]
