"""Fingerprints of Python source that survive renaming, as MOSS takes them (Schleimer, Wilkerson
and Aiken, "Winnowing: local algorithms for document fingerprinting", SIGMOD 2003).

The source is read with the ``tokenize`` module (never run): comments, docstrings and blank
lines go; every identifier becomes ``V``, every number ``N``, every other string ``S``;
keywords, operators and the indentation stay. Each run of ``K`` tokens (a k-gram) is hashed,
and in every window of ``WINDOW`` consecutive hashes the smallest is kept (the rightmost of
equals). So two files that share a run of at least ``K + WINDOW - 1`` tokens share a
fingerprint, and a shared run shorter than ``K`` tokens never counts.
"""

from __future__ import annotations

import hashlib
import io
import keyword
import tokenize
from collections.abc import Iterator
from typing import NamedTuple

K = 10  # tokens per k-gram: shorter shared runs are noise
WINDOW = 5  # a shared run of K + WINDOW - 1 = 14 tokens always shares a fingerprint
MAX_SOURCE_CHARS = 200_000  # a longer file is read only this far

_DROPPED = {tokenize.COMMENT, tokenize.NL, tokenize.ENCODING, tokenize.ENDMARKER}
# Python 3.12 splits f-strings into parts: the start stands for the string, the rest goes
_STRING_PARTS = {getattr(tokenize, name) for name in ("FSTRING_MIDDLE", "FSTRING_END")
                 if hasattr(tokenize, name)}
_FSTRING_START = getattr(tokenize, "FSTRING_START", None)
_LINE_START = {tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT}


class Token(NamedTuple):
    text: str  # normalised
    line: int  # where it starts in the file, from 1


class Fingerprint(NamedTuple):
    hash: int
    first_line: int  # the lines its k-gram spans
    last_line: int


def _raw_tokens(source: str) -> Iterator[tokenize.TokenInfo]:
    """The file's tokens up to the first place it stops being Python (then no further)."""
    try:
        yield from tokenize.generate_tokens(io.StringIO(source[:MAX_SOURCE_CHARS]).readline)
    except (tokenize.TokenError, SyntaxError):
        return


def tokens(source: str) -> list[Token]:
    """The normalised tokens of ``source`` (see the module's docstring)."""
    raw = [t for t in _raw_tokens(source) if t.type not in _DROPPED and t.type not in _STRING_PARTS]
    out: list[Token] = []
    skip = -1
    for i, tok in enumerate(raw):
        if i == skip:
            continue
        if tok.type == tokenize.STRING:
            starts_line = i == 0 or raw[i - 1].type in _LINE_START
            if starts_line and (i + 1 == len(raw) or raw[i + 1].type == tokenize.NEWLINE):
                skip = i + 1  # a docstring, or a string alone on its line (prose), and its line end
                continue
            text = "S"
        elif tok.type == _FSTRING_START:
            text = "S"
        elif tok.type == tokenize.NAME:
            text = tok.string if keyword.iskeyword(tok.string) else "V"
        elif tok.type == tokenize.NUMBER:
            text = "N"
        elif tok.type == tokenize.NEWLINE:
            text = ";"
        elif tok.type == tokenize.INDENT:
            text = "{"
        elif tok.type == tokenize.DEDENT:
            text = "}"
        else:
            text = tok.string
        out.append(Token(text, tok.start[0]))
    return out


def _hash(gram: list[Token]) -> int:
    text = "\x1f".join(t.text for t in gram).encode()
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "big")


def fingerprints(source: str, k: int = K, window: int = WINDOW) -> list[Fingerprint]:
    """The winnowed fingerprints of ``source``, in file order (a file shorter than ``k`` tokens
    has none)."""
    toks = tokens(source)
    grams = [(_hash(toks[i:i + k]), toks[i].line, toks[i + k - 1].line) for i in range(len(toks) - k + 1)]
    if not grams:
        return []
    out: list[Fingerprint] = []
    last = -1
    for start in range(max(1, len(grams) - window + 1)):
        span = grams[start:start + window]
        low = min(h for h, _, _ in span)
        pick = start + max(i for i, (h, _, _) in enumerate(span) if h == low)
        if pick != last:
            out.append(Fingerprint(*grams[pick]))
            last = pick
    return out
