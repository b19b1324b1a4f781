"""Snippets: the best window, marks around matches, whole words, HTML escaping."""

from __future__ import annotations

import pytest

from fluent_ai.chat.query import highlight, highlight_html, parse_query


def test_short_text_is_marked_whole() -> None:
    snippet = highlight("Green tea in Lisbon.", parse_query("tea lisbon"))
    assert snippet == "Green [tea] in [Lisbon]."


def test_phrases_are_marked_as_one_span_and_not_elsewhere() -> None:
    text = "green apples, then green tea, then tea"
    assert highlight(text, parse_query('"green tea"')) == "green apples, then [green tea], then tea"


def test_prefix_fuzzy_and_stemmed_forms_are_marked() -> None:
    text = "Teas and teapots; we were running to Lsibon."
    assert highlight(text, parse_query("tea")) == "[Teas] and teapots; we were running to Lsibon."
    assert highlight(text, parse_query("teap*")) == "Teas and [teapots]; we were running to Lsibon."
    assert highlight(text, parse_query("lisbon~ run")) == (
        "Teas and teapots; we were [running] to [Lsibon]."
    )


def test_negated_words_are_not_marked() -> None:
    assert highlight("tea and coffee", parse_query("tea -coffee")) == "[tea] and coffee"


def test_near_marks_only_the_words_that_are_near() -> None:
    text = "tea " + "x " * 20 + "tea lisbon"
    snippet = highlight(text, parse_query("NEAR/1(tea lisbon)"), width=500)
    assert snippet.endswith("x [tea] [lisbon]")
    assert snippet.startswith("tea x")


def test_window_prefers_most_distinct_words_and_cuts_at_whitespace() -> None:
    text = " ".join(
        ["tea"] + ["filler"] * 40 + ["tea", "in", "Lisbon", "was", "lovely"] + ["words"] * 40
    )
    snippet = highlight(text, parse_query("tea lisbon"), width=60)
    assert "[tea] in [Lisbon]" in snippet
    assert snippet.startswith("…")
    assert snippet.endswith("…")
    body = snippet.strip("…").replace("[", "").replace("]", "")
    assert len(body) <= 60
    assert all(
        word in {"filler", "tea", "in", "Lisbon", "was", "lovely", "words"} for word in body.split()
    )


def test_no_match_shows_the_start() -> None:
    text = "alpha beta gamma delta " * 20
    snippet = highlight(text, parse_query("zeta"), width=30)
    assert snippet == "alpha beta gamma delta alpha…"


def test_whitespace_collapses_to_one_line() -> None:
    assert highlight("tea\n\n  in\tLisbon", parse_query("lisbon")) == "tea in [Lisbon]"


def test_a_word_wider_than_the_window_is_cut() -> None:
    snippet = highlight("x" * 300, parse_query("tea"), width=50)
    assert snippet == "x" * 50 + "…"


def test_custom_marks() -> None:
    assert highlight("hot tea", parse_query("tea"), mark=("**", "**")) == "hot **tea**"


def test_html_variant_escapes_everything_but_the_marks() -> None:
    text = '<script>alert("tea")</script> & tea'
    snippet = highlight_html(text, parse_query("tea"))
    assert snippet == (
        "&lt;script&gt;alert(&quot;<mark>tea</mark>&quot;)&lt;/script&gt; &amp; <mark>tea</mark>"
    )
    assert "<script" not in snippet


def test_width_must_be_positive() -> None:
    with pytest.raises(ValueError, match="width"):
        highlight("tea", parse_query("tea"), width=0)
