"""The history query language's parser: every construct, precedence, limits, errors."""

from __future__ import annotations

import pytest

from fluent_ai.chat.query import (
    MAX_QUERY_LENGTH,
    MAX_TERMS,
    And,
    Fuzzy,
    Near,
    Not,
    Or,
    Phrase,
    Prefix,
    QuerySyntaxError,
    Term,
    parse_query,
)
from fluent_ai.errors import InvalidParameterError

T = Term


@pytest.mark.parametrize(
    ("query", "tree"),
    [
        ("tea", T("tea")),
        ("Tea", T("tea")),
        ("tea lisbon", And((T("tea"), T("lisbon")))),
        ("tea AND lisbon", And((T("tea"), T("lisbon")))),
        ("tea OR coffee", Or((T("tea"), T("coffee")))),
        ("tea NOT green", And((T("tea"), Not(T("green"))))),
        ("tea -green", And((T("tea"), Not(T("green"))))),
        ('tea -"green tea"', And((T("tea"), Not(Phrase(("green", "tea")))))),
        ("tea -(a OR b)", And((T("tea"), Not(Or((T("a"), T("b"))))))),
        ('"green tea"', Phrase(("green", "tea"))),
        ('"Green  TEA!"', Phrase(("green", "tea"))),
        ('"tea"', T("tea")),
        ('"green te"*', Phrase(("green", "te"), prefix=True)),
        ('"te"*', Prefix("te")),
        ("tea*", Prefix("tea")),
        ("lisbon~", Fuzzy("lisbon", 1)),
        ("lisbon~1", Fuzzy("lisbon", 1)),
        ("lisbon~2", Fuzzy("lisbon", 2)),
        ("e-mail", Phrase(("e", "mail"), raw="e-mail")),
        ("(3.14),", Phrase(("3", "14"), raw="3.14")),
        ("don't", Phrase(("don", "t"), raw="don't")),
        ("snake_case", Phrase(("snake", "case"), raw="snake_case")),
        ("0\x001", Phrase(("0", "1"))),
        ("e-ma*", Phrase(("e", "ma"), prefix=True)),
        ("lisbon, ... tea", And((T("lisbon"), T("tea")))),
        ("and or not near", And((T("and"), T("or"), T("not"), T("near")))),
        ("NEARBY", T("nearby")),
        ("café", T("café")),
        ("NEAR(tea lisbon)", Near((T("tea"), T("lisbon")), 10)),
        (
            'NEAR/3(tea "green tea" li*)',
            Near((T("tea"), Phrase(("green", "tea")), Prefix("li")), 3),
        ),
        ("NEAR/0 (a b)", Near((T("a"), T("b")), 0)),
        ("tea NEAR lisbon", Near((T("tea"), T("lisbon")), 10)),
        ("tea NEAR/2 lisbon NEAR/2 cafe", Near((T("tea"), T("lisbon"), T("cafe")), 2)),
        ("x NEAR(a b)", And((T("x"), Near((T("a"), T("b")), 10)))),
        ("x NEAR (a b)", And((T("x"), Near((T("a"), T("b")), 10)))),
        ("(tea)", T("tea")),
        ("((tea lisbon))", And((T("tea"), T("lisbon")))),
        ("tea (NOT a NOT b)", And((T("tea"), Not(T("a")), Not(T("b"))))),
        ("-tea lisbon", And((Not(T("tea")), T("lisbon")))),
        ("tea --lisbon", And((T("tea"), T("lisbon")))),
        ("5 - 3", And((T("5"), T("3")))),
    ],
)
def test_constructs(query: str, tree: object) -> None:
    assert parse_query(query) == tree


@pytest.mark.parametrize(
    ("query", "tree"),
    [
        # AND binds tighter than OR, explicit or implicit.
        ("a OR b c", Or((T("a"), And((T("b"), T("c")))))),
        ("a b OR c", Or((And((T("a"), T("b"))), T("c")))),
        ("a AND b OR c AND d", Or((And((T("a"), T("b"))), And((T("c"), T("d")))))),
        # NOT binds tighter than AND.
        ("a NOT b c", And((T("a"), Not(T("b")), T("c")))),
        ("a OR b NOT c", Or((T("a"), And((T("b"), Not(T("c"))))))),
        # NEAR binds tighter than NOT and AND.
        ("x NOT a NEAR b", And((T("x"), Not(Near((T("a"), T("b"))))))),
        ("x a NEAR b", And((T("x"), Near((T("a"), T("b")))))),
        # Parentheses override; same operators flatten.
        ("(a OR b) c", And((Or((T("a"), T("b"))), T("c")))),
        ("a OR (b OR c)", Or((T("a"), T("b"), T("c")))),
        ("a (b c) d", And((T("a"), T("b"), T("c"), T("d")))),
    ],
)
def test_precedence(query: str, tree: object) -> None:
    assert parse_query(query) == tree


@pytest.mark.parametrize(
    ("query", "position", "reason"),
    [
        ("", 0, "no words"),
        ("   ...  ", 0, "no words"),
        ("tea AND (lisbon", 15, "expected ')'"),
        ("tea AND (lisbon OR", 18, "expected a search term"),
        ("tea)", 3, "unmatched ')'"),
        (")", 0, "expected a search term"),
        ("()", 1, "empty parentheses"),
        ("AND tea", 0, "found AND"),
        ("tea OR", 6, "the end of the query"),
        ("tea AND AND lisbon", 8, "found AND"),
        ('tea "lisbon', 4, "never closed"),
        ('"..."', 0, "no letters or digits"),
        ('"green tea"~', 11, "not to a phrase"),
        ("NOT tea", 0, "needs a word to look for"),
        ("-tea", 0, "needs a word to look for"),
        ("NOT a NOT b", 0, "needs a word to look for"),
        ("tea OR NOT lisbon", 7, "NOT cannot be one side of OR"),
        ("(NOT a) OR b", 0, "NOT cannot be one side of OR"),
        ("tea NOT NOT lisbon", 8, "not another NOT"),
        ("tea & lisbon", 4, "use AND"),
        ("tea || lisbon", 4, "use OR"),
        ("tea~3", 4, "must be 1 or 2"),
        ("tea~0", 4, "must be 1 or 2"),
        ("te*a", 2, "'*' must end the word"),
        ("te~a", 2, "'~' must end the word"),
        ("*", 0, "needs letters or digits"),
        ("e-mail~", 0, "is several"),
        ("NEAR/x(a b)", 5, "expected a number"),
        ("NEAR/51(a b)", 5, "at most 50"),
        ("NEAR(a)", 0, "at least two"),
        ("NEAR(a b c d e f)", 0, "at most 5"),
        ("NEAR(a OR b)", 7, "not OR"),
        ("NEAR(a (b))", 7, "not '('"),
        ("NEAR(a b", 8, "expected ')' to close NEAR("),
        ("NEAR tea", 0, "NEAR goes between"),
        ("tea NEAR", 8, "after NEAR"),
        ("tea~ NEAR b", 0, "fuzzy words"),
        ("a NEAR b~", 7, "fuzzy words"),
        ("(a b) NEAR c", 0, "not groups"),
        ("a NEAR/2 b NEAR/3 c", 11, "one distance"),
    ],
)
def test_malformed_queries_point_at_the_fault(query: str, position: int, reason: str) -> None:
    with pytest.raises(QuerySyntaxError) as caught:
        parse_query(query)
    error = caught.value
    assert error.position == position, str(error)
    assert error.column == position + 1
    assert reason in error.reason
    assert f"at column {position + 1}" in str(error)


def test_error_message_shows_query_and_caret() -> None:
    with pytest.raises(QuerySyntaxError) as caught:
        parse_query("tea AND (lisbon")
    first, caret = str(caught.value).split("\n")
    assert first == "query: expected ')' at column 16: tea AND (lisbon"
    assert caret.index("^") == first.index("tea AND") + 15
    assert isinstance(caught.value, InvalidParameterError)
    assert isinstance(caught.value, ValueError)
    assert caught.value.parameter == "query"


def test_error_in_a_long_query_shows_a_window_with_aligned_caret() -> None:
    query = "alpha " * 40 + "beta)" + " gamma" * 40
    with pytest.raises(QuerySyntaxError) as caught:
        parse_query(query)
    first, caret = str(caught.value).split("\n")
    assert "…" in first
    assert len(first) < 160
    assert first[caret.index("^")] == ")"


def test_tabs_and_newlines_do_not_shift_the_caret() -> None:
    with pytest.raises(QuerySyntaxError) as caught:
        parse_query("tea\tAND\n(lisbon")
    first, caret = str(caught.value).split("\n")
    assert first.endswith("tea AND (lisbon")
    assert caret.index("^") == len(first)


def test_limits() -> None:
    parse_query("x" * MAX_QUERY_LENGTH)
    with pytest.raises(QuerySyntaxError, match="longer than 1,000") as caught:
        parse_query("x" * (MAX_QUERY_LENGTH + 1))
    assert caught.value.position == MAX_QUERY_LENGTH
    assert isinstance(parse_query(" ".join(["w"] * MAX_TERMS)), And)
    with pytest.raises(QuerySyntaxError, match="too many search terms") as caught:
        parse_query(" ".join(["w"] * (MAX_TERMS + 1)))
    assert caught.value.position == 2 * MAX_TERMS
    assert parse_query("(" * 20 + "a" + ")" * 20) == T("a")
    with pytest.raises(QuerySyntaxError, match="nested more than 20"):
        parse_query("(" * 21 + "a" + ")" * 21)
    with pytest.raises(QuerySyntaxError, match="nested more than 20"):
        parse_query("x " + "NOT (" * 21 + "a" + ")" * 21)


@pytest.mark.parametrize("value", [None, 3, b"tea", ["tea"]])
def test_wrong_types_are_rejected(value: object) -> None:
    with pytest.raises(TypeError, match="query must be a str"):
        parse_query(value)  # type: ignore[arg-type]
