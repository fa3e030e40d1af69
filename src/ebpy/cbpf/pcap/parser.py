"""The pcap-filter grammar of libpcap 1.10, as a recursive-descent parser.

The parser accepts what libpcap's yacc grammar accepts and builds the same
shape of tree, so that compiling the tree in order reproduces libpcap's code:

* ``and`` and ``or`` have one precedence and group to the left
  (``a or b and c`` is ``(a or b) and c``); ``not`` binds to one term;
* after ``and``/``or`` comes a term or a bare id, and a bare id reuses the
  qualifiers of the term before it (``host a and b``, ``port 80 or 443``,
  ``src net 10 and not 11``); a parenthesised expression passes on the
  qualifiers from before it; after ``tcp`` or a comparison there are none;
* arithmetic has yacc's precedences (``|`` < ``&`` < shifts < ``+ -`` <
  ``* /`` < unary minus) and ``^`` and ``%`` have none, so any conflict with
  them shifts, as yacc does (``a ^ b & c`` is ``a ^ (b & c)``, ``a & b ^ c``
  is ``a & (b ^ c)``, ``a % b * c`` is ``a % (b * c)``, ``-a % b`` is
  ``-(a % b)``).

Where the grammar needs more lookahead than one token (``(`` may open an
expression, an arithmetic group, a list of ids or a number) the parser tries
the alternatives in turn. Errors are ``FilterSyntaxError`` at the token
furthest into the expression that no alternative could take. This module
makes no code and resolves no names (``ebpy.cbpf.pcap.codegen``).

>>> tree = parse("host 10.0.0.1 and 10.0.0.2")
>>> type(tree).__name__, tree.right.qual.addr.name, tree.right.text
('And', 'HOST', '10.0.0.2')
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NoReturn, TypeVar

from ebpy.cbpf.pcap.ast import (
    PNAMES,
    QERR,
    Abbrev,
    Addr,
    And,
    Arith,
    Binary,
    Broadcast,
    ByteOp,
    Dir,
    Direction,
    Expr,
    Ident,
    IdKind,
    Length,
    Load,
    Mpls,
    Multicast,
    Negate,
    Not,
    Num,
    Or,
    PacketLen,
    Proto,
    Qual,
    Relation,
    Vlan,
)
from ebpy.cbpf.pcap.lexer import Kind, Token, tokenize
from ebpy.errors import FilterSyntaxError

__all__ = ["parse"]

T = TypeVar("T")

_RELOPS = (">", ">=", "=", "<=", "<", "!=")
_BINOPS = ("+", "-", "*", "/", "%", "&", "|", "^", "<<", ">>")
_PREC = {"|": 1, "&": 2, "<<": 3, ">>": 3, "+": 4, "-": 4, "*": 5, "/": 5}
_UMINUS = 6
_NEG = "neg"
_DQUALS = {"src": Dir.SRC, "dst": Dir.DST}
_AQUALS = {"host": Addr.HOST, "net": Addr.NET, "port": Addr.PORT, "portrange": Addr.PORTRANGE}
_HEAD_WORDS = frozenset(("src", "dst", "proto", "protochain", "gateway", *_AQUALS))
_BYTEOPS = ("&", "|", "<", ">", "=")
_UNSUPPORTED_WORDS = (
    "ifindex pppoed pppoes geneve lane llc metac bcc oam oamf4 oamf4ec oamf4sc sc ilmic vpi vci "
    "connectmsg metaconnect ifname rset rnr srnr reason action fisu lssu msu hfisu hlssu hmsu "
    "sio opc dpc sls hsio hopc hdpc hsls type subtype dir addr1 addr2 addr3 addr4 ra ta l1 l2 "
    "iih lsp snp csnp psnp"
)
_UNSUPPORTED = frozenset(_UNSUPPORTED_WORDS.split())
"""libpcap primitives this compiler does not support (ATM, MTP, pf, 802.11, PPPoE ...)."""


class _Fail(Exception):
    def __init__(self, index: int, reason: str) -> None:
        super().__init__(reason)
        self.index = index
        self.reason = reason


def parse(expr: str) -> Expr | None:
    """The tree of ``expr``; None for an empty expression (which accepts everything)."""
    parser = _Parser(tokenize(expr), expr)
    return parser.program()


def _should_reduce(top: str, incoming: str) -> bool:
    """yacc's choice between reducing ``top`` and shifting ``incoming``."""
    rule = _UMINUS if top == _NEG else _PREC.get(top)
    tok = _PREC.get(incoming)
    if rule is None or tok is None:
        return False  # no precedence: yacc shifts
    return rule >= tok  # higher binds tighter; equal groups to the left


class _Parser:
    def __init__(self, tokens: list[Token], expr: str) -> None:
        self.toks = tokens
        self.expr = expr
        self.pos = 0
        self.worst: _Fail | None = None

    # --- helpers ---------------------------------------------------------------

    def peek(self, ahead: int = 0) -> Token:
        return self.toks[min(self.pos + ahead, len(self.toks) - 1)]

    def advance(self) -> Token:
        tok = self.peek()
        self.pos = min(self.pos + 1, len(self.toks) - 1)
        return tok

    def fail(self, reason: str = "syntax error") -> NoReturn:
        err = _Fail(self.pos, reason)
        if self.worst is None or err.index > self.worst.index:
            self.worst = err
        raise err

    def expect_op(self, op: str) -> Token:
        if not self.peek().is_op(op):
            self.fail(f"expected '{op}'")
        return self.advance()

    def expect_num(self) -> Token:
        if self.peek().kind is not Kind.NUM:
            self.fail("expected a number")
        return self.advance()

    def attempt(self, *alternatives: Callable[[], T]) -> T:
        """The first alternative that parses; the position is reset between tries."""
        start = self.pos
        for alternative in alternatives:
            try:
                return alternative()
            except _Fail:
                self.pos = start
        assert self.worst is not None
        raise self.worst

    def program(self) -> Expr | None:
        if self.peek().kind is Kind.END:
            return None
        try:
            node, _ = self.expression(QERR)
            if self.peek().kind is not Kind.END:
                self.fail()
        except _Fail:
            worst = self.worst
            assert worst is not None
            tok = self.toks[worst.index]
            raise FilterSyntaxError(worst.reason, tok.column, tok.text, self.expr) from None
        return node

    # --- boolean expressions ------------------------------------------------------

    def expression(self, inherited: Qual) -> tuple[Expr, Qual]:
        node, qual = self.term(inherited)
        while self.peek().is_kw("and", "or"):
            op = self.advance()
            right, qual = self._term_or_id(qual)
            node = And(op, node, right) if op.word == "and" else Or(op, node, right)
        return node, qual

    def _term_or_id(self, before: Qual) -> tuple[Expr, Qual]:
        """After ``and``/``or``: a term, or a bare id reusing the qualifiers ``before``."""
        return self.attempt(lambda: self.term(before), lambda: (self.ident(before), before))

    def term(self, inherited: Qual) -> tuple[Expr, Qual]:
        tok = self.peek()
        if tok.is_kw("not"):
            self.advance()
            node, qual = self.term(inherited)
            return Not(tok, node), qual
        return self.rterm(inherited)

    def rterm(self, inherited: Qual) -> tuple[Expr, Qual]:
        tok = self.peek()
        if tok.is_op("("):
            return self.attempt(lambda: self.paren_expression(inherited), self.relation)
        if tok.kind is Kind.NUM or tok.is_op("-") or tok.is_kw("len"):
            return self.relation()
        if tok.kind is not Kind.KEYWORD:
            self.fail()
        word = tok.word
        if word in PNAMES:
            nxt = self.peek(1)
            if nxt.is_op("["):
                return self.relation()
            self.advance()
            proto = PNAMES[word]
            if nxt.is_kw("broadcast", "multicast"):
                return self.other_cast(proto), QERR
            if nxt.kind is Kind.KEYWORD and nxt.word in _HEAD_WORDS:
                qual = self.head(proto)
                return self.ident(qual), qual
            return Abbrev(tok, proto), QERR
        if word in _HEAD_WORDS:
            qual = self.head(Proto.DEFAULT)
            return self.ident(qual), qual
        if word in ("broadcast", "multicast"):
            return self.other_cast(Proto.DEFAULT), QERR
        return self.other(tok), QERR

    def paren_expression(self, inherited: Qual) -> tuple[Expr, Qual]:
        self.expect_op("(")
        node, _ = self.expression(inherited)
        self.expect_op(")")
        return node, inherited

    def head(self, proto: Proto) -> Qual:
        tok = self.advance()
        if tok.word in _DQUALS:
            direction = _DQUALS[tok.word]
            nxt, other = self.peek(), self.peek(1)
            if nxt.is_kw("and", "or") and other.is_kw("src", "dst") and other.word != tok.word:
                self.advance()
                self.advance()
                direction = Dir.OR if nxt.word == "or" else Dir.AND
            addr = Addr.DEFAULT
            if self.peek().kind is Kind.KEYWORD and self.peek().word in _AQUALS:
                addr = _AQUALS[self.advance().word]
            return Qual(proto, direction, addr)
        if tok.word in _AQUALS:
            return Qual(proto, Dir.DEFAULT, _AQUALS[tok.word])
        return Qual(proto, Dir.DEFAULT, Addr(tok.word))

    def other_cast(self, proto: Proto) -> Expr:
        tok = self.advance()
        return Broadcast(tok, proto) if tok.word == "broadcast" else Multicast(tok, proto)

    def other(self, tok: Token) -> Expr:
        word = tok.word
        if word in ("less", "greater"):
            self.advance()
            return Length(tok, word == "greater", self.expect_num().value)
        if word in ("inbound", "outbound"):
            self.advance()
            return Direction(tok, word == "outbound")
        if word in ("vlan", "mpls"):
            self.advance()
            value = None
            if self.peek().kind is Kind.NUM or self.peek().is_op("("):
                value = self.pnum().value
            return Vlan(tok, value) if word == "vlan" else Mpls(tok, value)
        if word == "byte":
            self.advance()
            index = self.expect_num().value
            op = self.peek()
            if op.kind is not Kind.OP or op.text not in _BYTEOPS:
                self.fail("expected one of & | < > =")
            self.advance()
            return ByteOp(tok, op.text, index, self.expect_num().value)
        if word in _UNSUPPORTED:
            self.fail(f"unsupported keyword '{tok.text}'")
        self.fail()

    # --- ids ------------------------------------------------------------------------

    def pnum(self) -> Token:
        if self.peek().is_op("("):
            self.advance()
            tok = self.pnum()
            self.expect_op(")")
            return tok
        return self.expect_num()

    def ident(self, qual: Qual) -> Expr:
        tok = self.peek()
        if tok.is_op("("):
            return self.attempt(lambda: self.paren_ids(qual), lambda: self.number_id(qual))
        if tok.kind is Kind.NUM:
            return self.number_id(qual)
        return self.nid(qual)

    def number_id(self, qual: Qual) -> Expr:
        tok = self.pnum()
        return Ident(tok, IdKind.NUM, qual, tok.text, tok.value)

    def paren_ids(self, qual: Qual) -> Expr:
        self.expect_op("(")
        if self.peek().kind is Kind.NUM or self.peek().is_op("("):
            node = self.number_id(qual)
            if not self.peek().is_kw("and", "or"):
                self.fail()
        else:
            node = self.nid(qual)
        while self.peek().is_kw("and", "or"):
            op = self.advance()
            right = self.ident(qual)
            node = And(op, node, right) if op.word == "and" else Or(op, node, right)
        self.expect_op(")")
        return node

    def nid(self, qual: Qual) -> Expr:
        tok = self.peek()
        if tok.is_kw("not"):
            self.advance()
            return Not(tok, self.ident(qual))
        kind = tok.kind
        if kind is Kind.ID:
            self.advance()
            return Ident(tok, IdKind.NAME, qual, tok.text)
        if kind in (Kind.HID, Kind.HID6):
            self.advance()
            v6 = kind is Kind.HID6
            if self.peek().is_op("/"):
                self.advance()
                length = self.expect_num().value
                return Ident(
                    tok, IdKind.NET6_LEN if v6 else IdKind.NET4_LEN, qual, tok.text, length
                )
            if not v6 and self.peek().is_kw("mask"):
                self.advance()
                if self.peek().kind is not Kind.HID:
                    self.fail("expected a dotted IPv4 mask")
                mask = self.advance()
                return Ident(tok, IdKind.NET4_MASK, qual, tok.text, mask=mask.text)
            return Ident(tok, IdKind.HOST6 if v6 else IdKind.HOST4, qual, tok.text)
        if kind in (Kind.EID, Kind.AID):
            self.advance()
            return Ident(tok, IdKind.MAC if kind is Kind.EID else IdKind.ARCNET, qual, tok.text)
        self.fail()

    # --- arithmetic -----------------------------------------------------------------

    def relation(self) -> tuple[Expr, Qual]:
        left = self.arith()
        op = self.peek()
        if op.kind is not Kind.OP or op.text not in _RELOPS:
            self.fail("expected a comparison")
        self.advance()
        right = self.arith()
        return Relation(op, op.text, left, right), QERR

    def arith(self) -> Arith:
        ops: list[tuple[str, Token]] = []
        vals: list[Arith] = []

        def reduce() -> None:
            op, tok = ops.pop()
            if op == _NEG:
                vals.append(Negate(tok, vals.pop()))
            else:
                right = vals.pop()
                vals.append(Binary(tok, op, vals.pop(), right))

        while True:
            while self.peek().is_op("-"):
                ops.append((_NEG, self.advance()))
            vals.append(self.primary())
            tok = self.peek()
            if tok.kind is not Kind.OP or tok.text not in _BINOPS:
                break
            while ops and _should_reduce(ops[-1][0], tok.text):
                reduce()
            ops.append((tok.text, self.advance()))
        while ops:
            reduce()
        return vals[0]

    def primary(self) -> Arith:
        tok = self.peek()
        if tok.kind is Kind.NUM:
            self.advance()
            return Num(tok, tok.value)
        if tok.is_kw("len"):
            self.advance()
            return PacketLen(tok)
        if tok.kind is Kind.KEYWORD and tok.word in PNAMES:
            self.advance()
            self.expect_op("[")
            index = self.arith()
            size = 1
            if self.peek().is_op(":"):
                self.advance()
                size = self.expect_num().value
            self.expect_op("]")
            return Load(tok, PNAMES[tok.word], index, size)
        if tok.is_op("("):
            self.advance()
            inner = self.arith()
            self.expect_op(")")
            return inner
        self.fail()
