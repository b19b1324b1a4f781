"""Bad input fails at the call, typed, before any model is loaded or request sent."""

from __future__ import annotations

from typing import Any

import pytest

from fluent_ai.embeddings import (
    CachedEmbedder,
    Embedder,
    LocalEmbedder,
    ProviderEmbedder,
    embedder,
    known_dimensions,
)
from fluent_ai.errors import InvalidParameterError
from fluent_ai.providers.openai_compat import OpenAICompatibleProvider
from tests.embeddings.fakes import CountingEmbedder

BAD_TEXTS: list[Any] = [
    "a single string",
    b"bytes",
    None,
    42,
    {"a": 1},
    ["ok", None],
    ["ok", 3],
    ["ok", b"bytes"],
    ["ok", ""],
    ["   \n"],
]


def _embedders() -> list[Embedder]:
    remote = OpenAICompatibleProvider(base_url="http://127.0.0.1:9/v1", api_key="sk-unused")
    return [
        LocalEmbedder(threads=1),
        ProviderEmbedder(remote, "text-embedding-3-small"),
        CachedEmbedder(CountingEmbedder()),
    ]


@pytest.mark.parametrize("texts", BAD_TEXTS)
async def test_bad_texts_are_refused_by_every_embedder(texts: Any) -> None:
    for item in _embedders():
        with pytest.raises(InvalidParameterError, match="texts"):
            await item.embed(texts)


async def test_the_refusal_names_the_item() -> None:
    with pytest.raises(InvalidParameterError, match="item 2 is a int, not a string"):
        await CountingEmbedder().embed(["a", "b", 3])  # type: ignore[list-item]


async def test_empty_input_gives_an_empty_array_of_the_right_width() -> None:
    for item in _embedders():
        vectors = await item.embed([])
        assert vectors.shape == (0, item.dimensions)
    assert (await LocalEmbedder().embed(())).shape == (0, 384)


@pytest.mark.parametrize(
    ("kwargs", "parameter"),
    [
        ({"threads": -1}, "threads"),
        ({"threads": 1.5}, "threads"),
        ({"threads": True}, "threads"),
        ({"batch_size": 0}, "batch_size"),
        ({"batch_size": 100_000}, "batch_size"),
        ({"batch_size": "8"}, "batch_size"),
    ],
)
def test_bad_local_settings(kwargs: dict[str, Any], parameter: str) -> None:
    with pytest.raises(InvalidParameterError, match=parameter):
        LocalEmbedder(**kwargs)


@pytest.mark.parametrize("dimensions", [0, -3, 2.5, True])
def test_bad_remote_dimensions(dimensions: Any) -> None:
    provider = OpenAICompatibleProvider(base_url="http://127.0.0.1:9/v1", api_key="sk-unused")
    with pytest.raises(InvalidParameterError, match="dimensions"):
        ProviderEmbedder(provider, dimensions=dimensions)


def test_bad_spec_type() -> None:
    with pytest.raises(InvalidParameterError, match="spec"):
        embedder(123)  # type: ignore[arg-type]


async def test_the_sync_form_is_refused_inside_an_event_loop() -> None:
    with pytest.raises(RuntimeError, match=r"await embedder\.embed"):
        CountingEmbedder().embed_sync(["a"])


def test_known_dimensions() -> None:
    assert known_dimensions("local:all-minilm-l6-v2") == 384
    assert known_dimensions("openai:text-embedding-3-large") == 3072
    assert known_dimensions("mistral:mistral-embed") == 1024
    assert known_dimensions("openai:not-catalogued") is None
