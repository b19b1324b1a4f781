"""Tags for conversations: keywords picked automatically, and hand-written tags cleaned.

The extractor is small and deterministic (same messages, same tags), with no model and
no download: words are lowercased and split (keeping ``c++``, ``node.js``, ``gpt-4o``),
English stopwords and chat filler dropped, plurals folded onto their singular when the
singular also occurs (``queries`` onto ``query``; ``postgres`` alone stays ``postgres``).
A term scores by its weighted frequency (user words count more than assistant words,
code and huge pastes less, the title most), its length (short words say little), how
early it first appears (the topic is usually stated first) and how many messages use
it; with a :class:`Background` of other conversations that is multiplied by its inverse
document frequency, so words every conversation uses sink. Results are valid
:class:`~fluent_ai.chat.types.ConversationRecord` tags: lowercase, no spaces or commas.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from fluent_ai.chat.types import ChatMessage
from fluent_ai.errors import InvalidParameterError
from fluent_ai.types import Message, Role

__all__ = ["Background", "auto_tags", "keyword_scores", "normalise_tag"]

_STOPWORD_TEXT = """
    a about above after again against all almost also although always am among an and
    another any anybody anyone anything anyway anywhere are aren't around as ask asked at
    away back be became because become been before being below best better between both
    but by can can't cannot could couldn't did didn't do does doesn't doing don't done
    down during each either else enough etc even ever every everyone everything e.g
    few for from further get gets getting give given go goes going gone got had hadn't
    has hasn't have haven't having he he'd he'll he's her here here's hers herself him
    himself his how how's however i i'd i'll i'm i've i.e if in instead into is isn't it
    it's its itself just keep know known let let's like likely look looks made make
    makes making many may maybe me might mine more most much must mustn't my myself
    need needs neither never new next no nobody none nor not nothing now of off often
    ok okay old on once one ones only onto or other others otherwise ought our ours
    ourselves out over own per perhaps please put quite rather really right said same
    say says see seem seems shall shan't she she'd she'll she's should shouldn't show
    since so some somebody someone something sometimes somewhat soon still such sure
    take tell than thank thanks that that's the their theirs them themselves then there
    there's therefore these they they'd they'll they're they've thing things think this
    those though through thus to together too took toward try trying two under until up
    upon us use used uses using usually very via want wants was wasn't way ways we we'd
    we'll we're we've well were weren't what what's whatever when when's where where's
    whether which while who who's whole whom whose why why's will with within without
    won't would wouldn't yes yet you you'd you'll you're you've your yours yourself
    yourselves hello hi hey help helps helped question questions answer answers example
    examples great good nice fine lot lots bit kind sort first second last also able
    work works worked working want wanted wondering thing stuff here's certainly
    absolutely course sounds step steps following below above note simply already
    specific different including include includes based possible approach time times
    day days year years today yesterday tomorrow now currently actually basically
    explain explained tell told call called mean means meant feel free let's happy
    one two three four five six seven eight nine ten would've could've should've
    run runs running ran start starts started stop stops stopped check checks checked
"""
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())
_URL = re.compile(r"\b(?:https?://|www\.)\S+|\S+@\S+\.\w+", re.IGNORECASE)
_FENCE = re.compile(r"```.*?(?:```|\Z)", re.DOTALL)
_TOKEN = re.compile(r"[^\W_](?:[\w+#]|[.\-'’](?=[^\W_]))*")
_LETTER = re.compile(r"[^\W\d_]")
_TAG_SEPARATORS = re.compile(r"[\s,]+")

_MAX_CHARS = 20_000  # of one message: a pasted log must not decide the topic
_ROLE_WEIGHT = {Role.USER: 1.5, Role.ASSISTANT: 1.0}  # system prompts and tool output repeat
_TITLE_WEIGHT = 3.0
_CODE_WEIGHT = 0.3


def _terms(text: str) -> list[str]:
    """The candidate words of ``text`` in order, lowercased, stopwords dropped."""
    found = []
    for raw in _TOKEN.findall(_URL.sub(" ", text[:_MAX_CHARS]).lower()):
        word = raw.replace("’", "'").removesuffix("'s")
        if word in _STOPWORDS or "'" in word or len(word) > 40 or not _LETTER.search(word):
            continue
        if len(word) < 3 and not any(c in word for c in "+#"):
            continue
        found.append(word)
    return found


def _singulars(word: str) -> list[str]:
    """Singular forms ``word`` might be the plural of, most likely first."""
    if len(word) <= 3 or not word.endswith("s") or word.endswith(("ss", "us", "is")):
        return []
    forms = []
    if word.endswith("ies") and len(word) > 4:
        forms.append(word[:-3] + "y")
    if word.endswith(("ses", "xes", "zes", "ches", "shes")):
        forms.append(word[:-2])
    forms.append(word[:-1])
    return forms


def _fold(words: Iterable[str], seen: set[str]) -> dict[str, str]:
    """Each word's key (and tag): a singular form that also occurs, else the word itself."""
    return {w: next((s for s in _singulars(w) if s in seen), w) for w in words}


@dataclass(frozen=True)
class Background:
    """How many conversations use each word, for inverse document frequency."""

    documents: int
    frequencies: Mapping[str, int] = field(default_factory=dict)

    @classmethod
    def from_conversations(
        cls, conversations: Iterable[Iterable[ChatMessage | Message]]
    ) -> Background:
        counts: Counter[str] = Counter()
        documents = 0
        for messages in conversations:
            words = {w for _, text in _texts(messages) for w in _terms(text)}
            counts.update(words | {s for w in words for s in _singulars(w)})
            documents += 1
        return cls(documents, dict(counts))

    def idf(self, forms: Iterable[str]) -> float:
        """Smoothed IDF of a term known by any of ``forms``."""
        df = max((self.frequencies.get(f, 0) for f in forms), default=0)
        return math.log((1 + self.documents) / (1 + df)) + 1


def _texts(messages: Iterable[ChatMessage | Message]) -> Iterable[tuple[Role, str]]:
    for item in messages:
        message = item.message if isinstance(item, ChatMessage) else item
        if not isinstance(message, Message):
            raise InvalidParameterError(
                "messages", f"expected ChatMessage or Message, got {type(item).__name__}"
            )
        yield message.role, message.text


def keyword_scores(
    messages: Iterable[ChatMessage | Message],
    *,
    title: str = "",
    background: Background | None = None,
) -> list[tuple[str, float]]:
    """Every candidate keyword with its score, best first (ties by name)."""
    occurrences: list[tuple[str, float, int]] = []  # word, weight, message number
    documents = [(Role.USER, title, _TITLE_WEIGHT)] if title else []
    documents += [(role, text, _ROLE_WEIGHT.get(role, 0.0)) for role, text in _texts(messages)]
    for number, (_, text, factor) in enumerate(documents):
        if factor == 0.0:
            continue
        code = " ".join(_FENCE.findall(text))
        occurrences += [(w, factor, number) for w in _terms(_FENCE.sub(" ", text))]
        occurrences += [(w, factor * _CODE_WEIGHT, number) for w in _terms(code)]
    if not occurrences:
        return []
    surface = Counter(word for word, _, _ in occurrences)
    keys = _fold(surface, set(surface))
    weight: dict[str, float] = {}
    first: dict[str, int] = {}
    spread: dict[str, set[int]] = {}
    for index, (word, w, number) in enumerate(occurrences):
        key = keys[word]
        weight[key] = weight.get(key, 0.0) + w
        first.setdefault(key, index)
        spread.setdefault(key, set()).add(number)
    forms: dict[str, list[str]] = {}
    for word, key in keys.items():
        forms.setdefault(key, []).append(word)
    total = len(occurrences)
    scored = []
    for key, tf in weight.items():
        score = (1 + math.log(tf) if tf >= 1 else tf) * min(1.0, 0.55 + 0.075 * len(key))
        score *= 1 + 0.5 * (1 - first[key] / total)
        score *= 1 + 0.5 * math.log(len(spread[key]))
        if background is not None:
            score *= background.idf([key, *forms[key]])
        scored.append((key, score))
    scored.sort(key=lambda item: (-item[1], item[0]))
    return scored


def auto_tags(
    messages: Iterable[ChatMessage | Message],
    *,
    title: str = "",
    limit: int = 3,
    background: Background | None = None,
) -> list[str]:
    """The ``limit`` best keywords of a conversation, as tags (best first)."""
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
        raise InvalidParameterError("limit", f"must be a whole number ≥ 0, got {limit!r}")
    return [word for word, _ in keyword_scores(messages, title=title, background=background)][
        :limit
    ]


def normalise_tag(text: str) -> str:
    """A hand-written tag made valid: lowercase, spaces and commas become ``-``."""
    if not isinstance(text, str):
        raise InvalidParameterError("tag", f"must be text, got {type(text).__name__}")
    tag = _TAG_SEPARATORS.sub("-", text.strip().lower()).strip("-")
    if not tag:
        raise InvalidParameterError("tag", f"{text!r} has no letters or digits to tag with")
    if len(tag) > 64:
        raise InvalidParameterError("tag", f"at most 64 characters, got {len(tag)}")
    return tag
