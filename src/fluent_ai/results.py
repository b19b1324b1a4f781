"""Results of the non-chat endpoints: embeddings, transcriptions, moderation verdicts.

Frozen, slotted dataclasses like the chat types in :mod:`fluent_ai.types`: a result is a
value that can be shared between tasks and cached without anyone changing it under you.
Vectors are tuples (not lists) for the same reason.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from fluent_ai.types import Usage

__all__ = ["Embeddings", "Moderation", "Transcription"]


@dataclass(frozen=True, slots=True)
class Embeddings:
    """One vector per input text, in the order the texts were given.

    The upstream may answer in any order (each item carries its ``index``); the client
    reorders, so ``embeddings[i]`` is always the vector of ``texts[i]``. ``model`` is
    ``provider:model-name``, as in :class:`fluent_ai.types.ChatResult`; ``usage`` counts
    the input tokens of every request a large batch was split into.
    """

    vectors: tuple[tuple[float, ...], ...]
    model: str
    usage: Usage = field(default_factory=Usage)

    def __len__(self) -> int:
        return len(self.vectors)

    def __getitem__(self, index: int) -> tuple[float, ...]:
        return self.vectors[index]

    def __iter__(self) -> Iterator[tuple[float, ...]]:
        return iter(self.vectors)

    @property
    def dimensions(self) -> int:
        """Length of each vector (0 when there are none): what a vector store must hold."""
        return len(self.vectors[0]) if self.vectors else 0


@dataclass(frozen=True, slots=True)
class Transcription:
    """The text heard in an audio file.

    ``language`` and ``duration`` (seconds) are filled only when the upstream reports them
    (OpenAI's ``verbose_json`` answers, some compatible hosts); plain ``json`` answers carry
    the text alone, so they stay ``None`` rather than being guessed.
    """

    text: str
    model: str
    language: str | None = None
    duration: float | None = None


@dataclass(frozen=True, slots=True)
class Moderation:
    """The verdict on one input: ``flagged`` when any category was judged violated.

    ``categories`` says which categories were violated, ``scores`` how confident the model
    is for each (0 to 1), so callers can apply a stricter threshold of their own. Both are
    read-only views, keeping the result immutable like the rest of this module.
    """

    flagged: bool
    categories: Mapping[str, bool]
    scores: Mapping[str, float]
