"""Hosted embedders against the loopback fakes: one array shape, limits, dimension checks."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import numpy as np
import pytest

from fluent_ai.embeddings import DimensionMismatchError, Embedder, ProviderEmbedder, embedder
from fluent_ai.embeddings.remote import PRESPLIT, RequestLimits
from fluent_ai.errors import AuthenticationError, ConfigurationError, InvalidParameterError
from fluent_ai.providers.scripted import ScriptedModel
from tests.fakes.cohere_server import FakeCohereServer
from tests.fakes.gemini_server import FakeGeminiServer
from tests.fakes.openai_extras_server import ExtrasBehaviour, FakeExtrasServer

KEY = "sk-embed"


@pytest.fixture
def extras() -> Iterator[FakeExtrasServer]:
    with FakeExtrasServer(api_key=KEY) as server:
        yield server


@pytest.fixture
def openai(extras: FakeExtrasServer, monkeypatch: pytest.MonkeyPatch) -> FakeExtrasServer:
    monkeypatch.setenv("OPENAI_BASE_URL", extras.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    return extras


@pytest.fixture
async def closing() -> AsyncIterator[list[Embedder]]:
    """Embedders a test builds, closed (with their connections) after it."""
    made: list[Embedder] = []
    yield made
    for item in made:
        await item.aclose()


async def test_openai_vectors_become_one_float32_array(
    openai: FakeExtrasServer, closing: list[Embedder]
) -> None:
    remote = embedder("openai:text-embedding-3-small", dimensions=3)
    closing.append(remote)
    texts = ["alpha", "be", "gamma ray"]
    vectors = await remote.embed(texts)
    assert vectors.dtype == np.float32
    assert vectors.shape == (3, 3)
    np.testing.assert_allclose(vectors, [openai.vector(t) for t in texts])  # by index, not arrival
    assert remote.model_id == "openai:text-embedding-3-small"
    (request,) = openai.requests_to("/embeddings")
    assert request.body["dimensions"] == 3


async def test_catalogued_dimensions_are_checked(
    openai: FakeExtrasServer, closing: list[Embedder]
) -> None:
    remote = embedder("openai")  # text-embedding-3-small: 1536 in the catalogue
    closing.append(remote)
    assert remote.dimensions == 1536
    with pytest.raises(DimensionMismatchError, match=r"1536 dimensions.*got 3"):
        await remote.embed(["hello"])


async def test_an_uncatalogued_model_learns_its_dimension(
    openai: FakeExtrasServer, closing: list[Embedder]
) -> None:
    remote = embedder("openai:house-embedder-v1")
    closing.append(remote)
    assert remote.dimensions == 0
    assert (await remote.embed([])).shape == (0, 0)
    assert (await remote.embed(["a", "bb"])).shape == (2, 3)
    assert remote.dimensions == 3


async def test_openai_batches_are_split_once_by_the_client(
    openai: FakeExtrasServer, closing: list[Embedder]
) -> None:
    openai.max_embedding_inputs = 2048
    remote = embedder("openai:text-embedding-3-small", dimensions=3)
    closing.append(remote)
    vectors = await remote.embed([f"t{i}" for i in range(2050)])
    assert vectors.shape == (2050, 3)
    assert [len(r.body["input"]) for r in openai.requests_to("/embeddings")] == [2048, 2]


async def test_mistral_batches_are_cut_to_its_limits(
    extras: FakeExtrasServer, monkeypatch: pytest.MonkeyPatch, closing: list[Embedder]
) -> None:
    monkeypatch.setenv("MISTRAL_BASE_URL", extras.base_url)
    monkeypatch.setenv("MISTRAL_API_KEY", KEY)
    extras.max_embedding_inputs = 256  # what Mistral accepts
    remote = embedder("mistral", dimensions=3)
    closing.append(remote)
    assert remote.model_id == "mistral:mistral-embed"
    texts = [f"text {i}" for i in range(600)]
    vectors = await remote.embed(texts)
    assert [len(r.body["input"]) for r in extras.requests_to("/embeddings")] == [256, 256, 88]
    np.testing.assert_allclose(vectors, [extras.vector(t) for t in texts])


def test_request_limits_cut_by_count_and_size() -> None:
    limits = RequestLimits(max_inputs=3, max_bytes=10)
    texts = ["aaaa", "bbbb", "c", "d", "e", "ffffffffffffffff", "g"]
    assert list(limits.batches(texts)) == [
        ["aaaa", "bbbb", "c"],
        ["d", "e"],
        ["ffffffffffffffff"],  # too big for any batch: sent alone
        ["g"],
    ]
    assert PRESPLIT["mistral"].max_inputs == 256


async def test_gemini_is_normalised_and_dimension_passed(
    monkeypatch: pytest.MonkeyPatch, closing: list[Embedder]
) -> None:
    with FakeGeminiServer(api_key=KEY) as server:
        monkeypatch.setenv("GEMINI_BASE_URL", server.base_url)
        monkeypatch.setenv("GEMINI_API_KEY", KEY)
        remote = embedder("gemini:gemini-embedding-001", dimensions=4)
        closing.append(remote)
        texts = [f"gemini text {i}" for i in range(150)]
        vectors = await remote.embed(texts)
        sent = server.embed_requests
    assert vectors.shape == (150, 4)
    assert vectors.dtype == np.float32
    assert vectors[0].tolist() == [len(texts[0]), 0.5, 0.5, 0.5]
    assert [len(r.body["requests"]) for r in sent] == [100, 50]  # the client's split, once
    assert sent[0].body["requests"][0]["outputDimensionality"] == 4


async def test_gemini_default_dimension_mismatch_is_refused(
    monkeypatch: pytest.MonkeyPatch, closing: list[Embedder]
) -> None:
    with FakeGeminiServer(api_key=KEY) as server:
        monkeypatch.setenv("GEMINI_BASE_URL", server.base_url)
        monkeypatch.setenv("GEMINI_API_KEY", KEY)
        remote = embedder("gemini")  # 3072 in the catalogue; the fake answers 4
        closing.append(remote)
        with pytest.raises(DimensionMismatchError, match="answer of gemini"):
            await remote.embed(["x"])


async def test_cohere_is_normalised_and_split_at_96(
    monkeypatch: pytest.MonkeyPatch, closing: list[Embedder]
) -> None:
    with FakeCohereServer(api_key=KEY) as server:
        monkeypatch.setenv("COHERE_BASE_URL", server.base_url)
        monkeypatch.setenv("COHERE_API_KEY", KEY)
        remote = embedder("cohere:embed-v4.0", dimensions=8)
        closing.append(remote)
        vectors = await remote.embed([f"c{i}" for i in range(100)])
        sent = server.on("/v2/embed")
    assert vectors.shape == (100, 8)
    assert [len(r.body["texts"]) for r in sent] == [96, 4]
    assert sent[0].body["output_dimension"] == 8


async def test_provider_errors_pass_through_typed(
    openai: FakeExtrasServer, closing: list[Embedder]
) -> None:
    openai.queue(ExtrasBehaviour.error(401, "bad key"))
    remote = embedder("openai:text-embedding-3-small", dimensions=3)
    closing.append(remote)
    with pytest.raises(AuthenticationError):
        await remote.embed(["hello"])


def test_a_chat_model_is_not_an_embedder() -> None:
    with pytest.raises(ConfigurationError, match="chat model, not an embedding model"):
        embedder("openai:gpt-4o-mini")


def test_a_provider_without_embeddings_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="has no embeddings API"):
        ProviderEmbedder(ScriptedModel("hi"))


def test_missing_key_and_unknown_local_model() -> None:
    with pytest.raises(ConfigurationError, match="OPENAI_API_KEY"):
        embedder("openai")
    with pytest.raises(ConfigurationError, match="only local embedding model"):
        embedder("local:other-model")
    with pytest.raises(InvalidParameterError, match="dimensions"):
        embedder("local", dimensions=128)


def test_a_provider_without_a_default_embedding_model_needs_a_name() -> None:
    with pytest.raises(ConfigurationError, match="no default embedding model"):
        embedder("groq")
