"""Recursive-descent parser of the history query language.

Grammar (NEAR binds tightest, then NOT, AND, OR; adjacent terms are ANDed)::

    query   := or END
    or      := and ("OR" and)*
    and     := unary (["AND"] unary)*
    unary   := ("NOT" | "-") unary | near
    near    := primary ("NEAR" ["/" n] primary)*       # a NEAR/3 b NEAR/3 c
    primary := "(" or ")" | word | "NEAR" ["/" n] "(" word word+ ")"

``a NEAR/n b`` and ``NEAR/n(a b c)`` mean the same (FTS5's NEAR group: every operand
within ``n`` words of the others, in any order; ``n`` defaults to 10). NEAR takes words,
prefixes and phrases, not fuzzy words or groups. Every subtree must be rankable: a
query of only NOTs, or a NOT as one side of OR, is an error that says how to fix it.
"""

from __future__ import annotations

from fluent_ai.chat.query_ast import (
    MAX_DEPTH,
    MAX_NEAR_OPERANDS,
    MAX_TERMS,
    And,
    Fuzzy,
    Near,
    NearOperand,
    Node,
    Not,
    Or,
    Phrase,
    Prefix,
    QuerySyntaxError,
    Term,
)
from fluent_ai.chat.query_lexer import Kind, Token, tokenize

__all__ = ["parse_query"]

_STARTS_UNARY = {Kind.WORD, Kind.LPAREN, Kind.NOT, Kind.MINUS, Kind.NEAR}


def parse_query(query: str) -> Node:
    """The syntax tree of ``query``; raises :class:`QuerySyntaxError` pointing at the fault."""
    if not isinstance(query, str):
        raise TypeError(f"query must be a str, not {type(query).__name__}")
    return _Parser(query, tokenize(query)).parse()


def _positive(node: Node) -> bool:
    """Whether ``node`` names something to look for (so it can be matched and ranked)."""
    if isinstance(node, Not):
        return False
    if isinstance(node, And):
        return any(_positive(operand) for operand in node.operands)
    if isinstance(node, Or):
        return all(_positive(operand) for operand in node.operands)
    return True


class _Parser:
    def __init__(self, query: str, tokens: list[Token]) -> None:
        self.query = query
        self.tokens = tokens
        self.index = 0
        self.terms = 0

    @property
    def token(self) -> Token:
        return self.tokens[self.index]

    def kind(self) -> Kind:
        """The current token's kind (a call, so checks are not narrowed across advances)."""
        return self.tokens[self.index].kind

    def advance(self) -> Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def error(self, position: int, reason: str) -> QuerySyntaxError:
        return QuerySyntaxError(self.query, position, reason)

    def parse(self) -> Node:
        if self.kind() is Kind.END:
            raise self.error(0, "the query has no words to search for")
        node = self.or_(0)
        if not _positive(node):
            raise self.error(
                0, "a query needs a word to look for, and NOT only excludes: try 'lisbon NOT tea'"
            )
        if self.kind() is Kind.RPAREN:
            raise self.error(self.token.position, "unmatched ')'")
        if self.kind() is not Kind.END:
            raise self.error(self.token.position, f"unexpected {self.kind().value}")
        return node

    def or_(self, depth: int) -> Node:
        starts = [self.token.position]
        operands = [self.and_(depth)]
        while self.kind() is Kind.OR:
            self.advance()
            starts.append(self.token.position)
            operands.append(self.and_(depth))
        for start, operand in zip(starts, operands, strict=True):
            if len(operands) > 1 and not _positive(operand):
                raise self.error(
                    start,
                    "NOT cannot be one side of OR (it would match nearly everything); "
                    "group it with a word, e.g. 'tea OR (coffee NOT decaf)'",
                )
        return _join(Or, operands)

    def and_(self, depth: int) -> Node:
        operands = [self.unary(depth)]
        while True:
            if self.kind() is Kind.AND:
                self.advance()
            elif self.kind() not in _STARTS_UNARY:
                break
            operands.append(self.unary(depth))
        return _join(And, operands)

    def unary(self, depth: int) -> Node:
        if depth > MAX_DEPTH:
            raise self.error(self.token.position, f"nested more than {MAX_DEPTH} levels deep")
        if self.kind() in (Kind.NOT, Kind.MINUS):
            self.advance()
            start = self.token.position
            operand = self.unary(depth + 1)
            if not _positive(operand):
                raise self.error(start, "NOT needs a word or group to exclude, not another NOT")
            return Not(operand)
        start = self.token.position
        return self.near_chain(self.primary(depth), start)

    def near_chain(self, first: Node, start: int) -> Node:
        """``first NEAR/n b NEAR/n c ...`` (NEAR followed by ``(`` starts a new group)."""
        if self.kind() is not Kind.NEAR or self.followed_by_group():
            return first
        operands = [self.near_operand(first, start)]
        distance = self.token.distance
        while self.kind() is Kind.NEAR and not self.followed_by_group():
            operator = self.advance()
            if operator.distance != distance:
                raise self.error(
                    operator.position,
                    "one NEAR chain needs one distance; write NEAR/n(a b c) instead",
                )
            position = self.token.position
            operands.append(self.near_operand(self.primary_word("NEAR"), position))
        return self.near_group(operands, distance, start)

    def followed_by_group(self) -> bool:
        return self.tokens[self.index + 1].kind is Kind.LPAREN

    def primary(self, depth: int) -> Node:
        token = self.token
        if token.kind is Kind.LPAREN:
            self.advance()
            if self.kind() is Kind.RPAREN:
                raise self.error(self.token.position, "empty parentheses: expected a search term")
            node = self.or_(depth + 1)
            if self.kind() is not Kind.RPAREN:
                raise self.error(self.token.position, "expected ')'")
            self.advance()
            return node
        if token.kind is Kind.NEAR:
            if not self.followed_by_group():
                raise self.error(
                    token.position,
                    "NEAR goes between two words (a NEAR b) or before a group (NEAR(a b))",
                )
            return self.near_function()
        return self.primary_word(None)

    def primary_word(self, after: str | None) -> Node:
        token = self.token
        if token.kind is not Kind.WORD:
            found = "the end of the query" if token.kind is Kind.END else token.kind.value
            context = f" after {after}" if after else ""
            raise self.error(token.position, f"expected a search term{context}, found {found}")
        self.advance()
        self.terms += 1
        if self.terms > MAX_TERMS:
            raise self.error(token.position, f"too many search terms (at most {MAX_TERMS})")
        assert token.leaf is not None  # the lexer gives every WORD token its leaf
        return token.leaf

    def near_function(self) -> Node:
        start = self.advance()
        self.advance()  # the "("
        operands: list[NearOperand] = []
        while self.kind() is Kind.WORD:
            position = self.token.position
            operands.append(self.near_operand(self.primary_word(None), position))
        if self.kind() is not Kind.RPAREN:
            found = self.token
            reason = (
                "expected ')' to close NEAR("
                if found.kind is Kind.END
                else f"NEAR(...) takes only words and phrases, not {found.kind.value}"
            )
            raise self.error(found.position, reason)
        self.advance()
        return self.near_group(operands, start.distance, start.position)

    def near_operand(self, node: Node, position: int) -> NearOperand:
        if isinstance(node, Term | Prefix | Phrase):
            return node
        if isinstance(node, Fuzzy):
            raise self.error(position, "fuzzy words (~) cannot be used with NEAR")
        raise self.error(position, "NEAR joins words and phrases, not groups")

    def near_group(self, operands: list[NearOperand], distance: int, start: int) -> Near:
        if len(operands) < 2:
            raise self.error(start, "NEAR needs at least two words or phrases")
        if len(operands) > MAX_NEAR_OPERANDS:
            raise self.error(start, f"NEAR takes at most {MAX_NEAR_OPERANDS} words or phrases")
        return Near(tuple(operands), distance)


def _join(kind: type[And] | type[Or], operands: list[Node]) -> Node:
    """One node for ``operands``: the single operand itself, or a flattened And / Or."""
    if len(operands) == 1:
        return operands[0]
    flat: list[Node] = []
    for operand in operands:
        flat.extend(operand.operands if isinstance(operand, kind) else (operand,))
    return kind(tuple(flat))
