"""Units: parse unit text ("GFLOPs", "billion tokens", "MiB", "TFLOP/s") into a Unit.

A Unit is a factor to base units plus a dimension signature. The table of known
units lives in ``data/units.yaml``. Parsing never evaluates anything; unknown
words raise UnitError with a message a student can act on.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any

from grader.core.fileio import read_yaml

Dims = tuple[tuple[str, int], ...]

MAX_UNIT_TEXT = 60
_SCALE_RE = re.compile(
    r"^\s*(?:[x×*]\s*)?"
    r"(?:(?P<mant>\d+(?:\.\d+)?)\s*[eE](?P<e>[+-]?\d{1,3})"
    r"|10\s*(?:\^|\*\*)\s*(?P<p>[+-]?\d{1,3}))\s*"
)


class UnitError(ValueError):
    """Unit text that cannot be read, or that measures the wrong quantity."""


class UnitMismatch(UnitError):
    """A unit that reads but measures another quantity than the one asked for."""


@dataclass(frozen=True)
class UnitTable:
    """The unit vocabulary loaded from data/units.yaml."""

    # alias -> (symbol, dimension, factor, is a counting noun, takes prefixes)
    aliases: Mapping[str, tuple[str, str, float, bool, bool]]
    decimal: Mapping[str, float]
    binary: Mapping[str, float]
    binary_reading: Mapping[str, str]
    prefix_words: Mapping[str, str]  # "giga" -> "G", "mebi" -> "Mi"
    magnitudes: Mapping[str, float]
    dimension_words: Mapping[str, str]


@lru_cache(maxsize=1)
def unit_table() -> UnitTable:
    """Load and index the unit vocabulary (cached)."""
    raw: dict[str, Any] = read_yaml(resources.files("grader").joinpath("data/units.yaml").read_bytes(),
                                    label="units.yaml", max_bytes=1 << 20)
    aliases: dict[str, tuple[str, str, float, bool, bool]] = {}
    for sym, spec in raw["base_units"].items():
        entry = (sym, spec["dimension"], float(spec["factor"]), bool(spec.get("count")),
                 bool(spec.get("prefixable")))
        for alias in spec["aliases"]:
            aliases[str(alias)] = entry
    pre = raw["prefixes"]
    return UnitTable(
        aliases=aliases,
        decimal={k: float(v) for k, v in pre["decimal"].items()},
        binary={k: float(v) for k, v in pre["binary"].items()},
        binary_reading=dict(pre["binary_reading"]),
        prefix_words={str(k).lower(): str(v) for k, v in pre["words"].items()},
        magnitudes={k: float(v) for k, v in raw["magnitude_words"].items()},
        dimension_words=dict(raw["dimension_words"]),
    )


@dataclass(frozen=True)
class Unit:
    """A parsed unit.

    ``scale`` holds prefixes, magnitude words and numeric scales; ``base_factor``
    the product of base-unit factors (hour = 3600 s). ``binary_scale`` is
    ``scale`` with every decimal prefix on a byte unit read as binary (MB as MiB).
    """

    text: str
    scale: float = 1.0
    base_factor: float = 1.0
    dims: Dims = ()
    has_base: bool = False
    binary_scale: float | None = None
    rate_ambiguous: bool = False  # "FLOPS" may mean FLOP/s
    count_noun: bool = False  # a single counting noun such as "tokens"
    den_factor: float = 1.0  # factor of the denominator ("/s", "/h"), for implied denominators
    notes: tuple[str, ...] = field(default=())

    @property
    def factor(self) -> float:
        """Multiply a value in this unit by this to get base units."""
        return self.scale * self.base_factor

    @property
    def binary_factor(self) -> float:
        """The factor when decimal byte prefixes are read as binary ones."""
        return (self.binary_scale if self.binary_scale is not None else self.scale) * self.base_factor

    @property
    def has_binary_reading(self) -> bool:
        return self.binary_scale is not None and self.binary_scale != self.scale

    @property
    def numerator_dims(self) -> Dims:
        return tuple((d, e) for d, e in self.dims if e > 0)

    @property
    def denominator_dims(self) -> Dims:
        return tuple((d, e) for d, e in self.dims if e < 0)


def describe_dims(dims: Dims) -> str:
    """Human words for a dimension signature: 'flop per time'."""
    if not dims:
        return "a plain number"
    words = unit_table().dimension_words
    num = [words.get(d, d) + ("" if e == 1 else f"^{e}") for d, e in dims if e > 0]
    den = [_singular(words.get(d, d)) + ("" if e == -1 else f"^{-e}") for d, e in dims if e < 0]
    return (" x ".join(num) or "1") + "".join(f" per {d}" for d in den)


def _singular(word: str) -> str:
    return word[:-1] if word.endswith("s") else word


def _merge(acc: dict[str, int], dims: Dims, sign: int) -> None:
    for d, e in dims:
        acc[d] = acc.get(d, 0) + sign * e
        if acc[d] == 0:
            del acc[d]


@dataclass
class _Part:
    scale: float = 1.0
    binary_scale: float = 1.0
    base_factor: float = 1.0
    dims: Dims = ()
    has_base: bool = False
    rate_ambiguous: bool = False
    count: bool = False


def _lookup_alias(word: str, *, exact_only: bool = False):
    """Find a base unit by alias: exact spelling first, then case-insensitively."""
    table = unit_table()
    if word in table.aliases:
        return table.aliases[word]
    if exact_only:
        return None
    return _lowercase_aliases().get(word.lower())


@lru_cache(maxsize=1)
def _lowercase_aliases() -> dict[str, tuple[str, str, float, bool, bool]]:
    return {k.lower(): v for k, v in unit_table().aliases.items()}


def _add_magnitude(part: _Part, mult: float) -> None:
    part.scale *= mult
    part.binary_scale *= mult


def _add_base(part: _Part, word: str, hit, mult: float = 1.0, bmult: float = 1.0) -> None:
    _sym, dim, factor, count, _prefixable = hit
    if part.has_base:
        raise UnitError(f"two units in one place: '{word}' follows another unit")
    part.scale *= mult
    part.binary_scale *= bmult
    part.base_factor *= factor
    part.dims = ((dim, 1),) if dim else ()
    part.has_base = True
    part.count = count
    part.rate_ambiguous = word.endswith(("FLOPS", "flops"))


def _split_prefix(word: str):
    """Try prefix + prefixable unit: a prefix spelled out (giga, mebi), then binary prefixes
    (Mi), then decimal ones (M)."""
    table = unit_table()
    for spelled, symbol in table.prefix_words.items():
        if word.lower().startswith(spelled) and len(word) > len(spelled):
            return _split_prefix(symbol + word[len(spelled):])
    for prefixes, is_binary in ((table.binary, True), (table.decimal, False)):
        for pre, mult in prefixes.items():
            for spelled in dict.fromkeys((pre, pre.lower())):
                if not (word.startswith(spelled) and len(word) > len(spelled)):
                    continue
                hit = _lookup_alias(word[len(spelled):])
                if hit is None or not hit[4]:
                    continue
                bmult = mult
                if not is_binary and hit[1] == "byte":
                    bmult = table.binary[table.binary_reading[pre]]
                return hit, mult, bmult
    return None


def _parse_word(word: str, part: _Part, bytes_context: bool) -> None:
    """Fold one word (a magnitude word, a unit, or prefix+unit) into part."""
    table = unit_table()
    if word == "B" and not bytes_context:  # 7B params: billion, not bytes
        _add_magnitude(part, table.magnitudes["B"])
        return
    hit = _lookup_alias(word, exact_only=True)
    if hit is not None:
        _add_base(part, word, hit)
        return
    if word in table.magnitudes:
        _add_magnitude(part, table.magnitudes[word])
        return
    if len(word) >= 2 and word.lower() in table.magnitudes:  # "Billion", "MILLION", "Bn"
        _add_magnitude(part, table.magnitudes[word.lower()])
        return
    split = _split_prefix(word)
    if split is not None:
        hit, mult, bmult = split
        _add_base(part, word, hit, mult, bmult)
        return
    hit = _lookup_alias(word)
    if hit is not None:
        _add_base(part, word, hit)
        return
    raise UnitError(_unknown(word))


def _unknown(word: str) -> str:
    """Why ``word`` is not a unit: an unknown prefix on a known unit, or an unknown word."""
    table = unit_table()
    for i in range(1, len(word)):
        hit = _lookup_alias(word[i:])
        if hit is not None and hit[4]:
            known = ", ".join(dict.fromkeys(p.lower() if p == "K" else p for p in table.decimal))
            return (f"unknown prefix '{word[:i]}' in '{word}' (prefixes: {known}; "
                    f"{', '.join(list(table.binary)[:3])}, ...; or words such as giga, mebi)")
    return f"unknown unit '{word}'"


def _parse_part(text: str, bytes_context: bool) -> _Part:
    part = _Part()
    for w in text.split():
        _parse_word(w, part, bytes_context)
    return part


def parse_unit(text: str | None, *, bytes_context: bool = False) -> Unit:
    """Parse unit text. An empty text is a plain number with no base unit.

    ``bytes_context`` says the question asks for bytes, so a lone "B" is a byte
    rather than "billion".
    """
    raw = (text or "").strip()
    if len(raw) > MAX_UNIT_TEXT:
        raise UnitError(f"unit text is too long ({len(raw)} characters)")
    if not raw:
        return Unit(text="")
    scale, rest = 1.0, raw
    m = _SCALE_RE.match(raw)
    if m and (m.group("mant") or m.group("p")):
        if m.group("p") is not None:
            scale = float(f"1e{int(m.group('p'))}")
        else:
            scale = float(f"{m.group('mant')}e{int(m.group('e'))}")
        rest = raw[m.end():]
    pieces = re.split(r"\s*/\s*|\s+per\s+", rest) if rest else []
    if any(not p.strip() for p in pieces):
        raise UnitError(f"could not read the unit '{raw}': empty part around '/'")
    dims: dict[str, int] = {}
    num = _Part(scale=scale, binary_scale=scale)
    den = _Part()
    for i, piece in enumerate(pieces):
        part = _parse_part(piece, bytes_context)
        target = num if i == 0 else den
        target.scale *= part.scale
        target.binary_scale *= part.binary_scale
        target.base_factor *= part.base_factor
        _merge(dims, part.dims, 1 if i == 0 else -1)
        if i == 0:
            num.has_base, num.rate_ambiguous, num.count = part.has_base, part.rate_ambiguous, part.count
    total = num.scale / den.scale
    if not math.isfinite(total) or total == 0:
        raise UnitError(f"the unit '{raw}' has an unusable scale")
    btotal = num.binary_scale / den.binary_scale
    return Unit(
        text=raw,
        scale=total,
        base_factor=num.base_factor / den.base_factor,
        dims=tuple(sorted(dims.items())),
        has_base=num.has_base or len(pieces) > 1,
        binary_scale=btotal if btotal != total else None,
        rate_ambiguous=num.rate_ambiguous and len(pieces) == 1,
        count_noun=num.count and len(pieces) == 1,
        den_factor=den.scale * den.base_factor,
    )


def _with(given: Unit, **changes: Any) -> Unit:
    fields = {f: getattr(given, f) for f in Unit.__dataclass_fields__}
    fields.update(changes)
    return Unit(**fields)


def resolve_against(given: Unit, asked: Unit) -> Unit:
    """Interpret the unit a student wrote in the light of the unit the question asks for.

    - no unit at all: the asked unit;
    - only magnitude words ("34.36 G", "60 billion"): those on the asked base unit;
    - "FLOPS" where FLOP/s is asked: the rate;
    - the asked numerator without its denominator ("268 MFLOPs" for MFLOP/token):
      the asked denominator is implied;
    - a counting noun ("32,256 tokens") where a plain number is asked: the number.
    Raises UnitError when the dimensions cannot match.
    """
    if not given.text:
        return asked
    if not given.has_base:
        return _with(given, base_factor=asked.base_factor, dims=asked.dims, has_base=True)
    if given.dims == asked.dims:
        return given
    if given.rate_ambiguous and dict(asked.dims) == {"flop": 1, "time": -1} \
            and given.dims == (("flop", 1),):
        return _with(given, dims=asked.dims, notes=("read 'FLOPS' as FLOP per second",))
    if not asked.dims and given.count_noun:
        return _with(given, base_factor=1.0, dims=())
    if asked.denominator_dims and given.dims == asked.numerator_dims:
        per = " per ".join(_singular(unit_table().dimension_words.get(d, d))
                           for d, _ in asked.denominator_dims)
        return _with(given, base_factor=given.base_factor / asked.den_factor, dims=asked.dims,
                     notes=(f"read '{given.text}' as {given.text} per {per}",))
    raise UnitMismatch(
        f"'{given.text}' measures {describe_dims(given.dims)}, but the question asks for "
        f"{describe_dims(asked.dims)} ({unit_words(asked.text)})"
    )


_FLOP_ALONE = re.compile(r"^([kKMGTPEZY]?)FLOP$")


def unit_words(text: str) -> str:
    """A unit as people write it: '1e23 FLOP' -> 'x 10^23 FLOPs', 'MFLOP' -> 'MFLOPs',
    'GB' -> 'GB', and '' for a plain number ('1')."""
    raw = (text or "").strip()
    if raw in ("", "1"):
        return ""
    scale = ""
    m = _SCALE_RE.match(raw)
    if m and (m.group("mant") or m.group("p")):
        power = int(m.group("p") if m.group("p") is not None else m.group("e"))
        mantissa = m.group("mant")
        times = "" if mantissa is None or float(mantissa) == 1 else f"{mantissa} x "
        scale, raw = f"x {times}10^{power}", raw[m.end():]
    return " ".join(filter(None, [scale, _FLOP_ALONE.sub(r"\1FLOPs", raw)]))


def with_unit(number: str, unit_text: str) -> str:
    """``number`` followed by the unit as people write it: '3.2 x 10^23 FLOPs', '17.6%', '5'."""
    words = unit_words(unit_text)
    if not words:
        return number
    return f"{number}{words}" if words == "%" else f"{number} {words}"


def asked_in_words(unit_text: str) -> str:
    """How to answer, for 'Answer ...': 'in MFLOPs', 'with a plain number',
    'with X in X x 10^23 FLOPs'."""
    words = unit_words(unit_text)
    if not words:
        return "with a plain number"
    return f"with X in X {words}" if words.startswith("x ") else f"in {words}"
