"""The numeric rule: a student's number (with optional unit) against the expected value."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from grader.responses.quantity import AnswerFormatError, Quantity, parse_quantity
from grader.responses.units import (
    Unit,
    UnitError,
    UnitMismatch,
    asked_in_words,
    parse_unit,
    resolve_against,
    unit_words,
    with_unit,
)
from grader.results.result import Result, error, is_blank, unanswered
from grader.rules.slips import find_slip, near_miss
from grader.rules.tolerance import Tolerance


@dataclass(frozen=True)
class NumericKey:
    """What a numeric response is graded against.

    ``expected`` is in base units; ``mistakes`` are (label, feedback, value in
    base units) for the item's known wrong answers.
    """

    expected: float
    unit: str
    tolerance: Tolerance
    binary_ambiguous: bool = False
    mistakes: Sequence[tuple[str, str, float]] = ()

    def asked_unit(self) -> Unit:
        return asked_unit(self.unit)


@lru_cache(maxsize=256)
def _asks_bytes(unit_text: str) -> bool:
    try:
        return any(d == "byte" for d, _ in parse_unit(unit_text, bytes_context=True).dims)
    except UnitError:
        return False


@lru_cache(maxsize=256)
def asked_unit(unit_text: str) -> Unit:
    """A question's asked unit, as its key reads it (a lone "B" asked is bytes), parsed once per
    distinct text (bank text, not student text)."""
    return parse_unit(unit_text, bytes_context=_asks_bytes(unit_text))


def read_response(response: object) -> Quantity:
    """A YAML number, a string, or an already-read Quantity; raises AnswerFormatError."""
    if isinstance(response, Quantity):
        return response
    if isinstance(response, bool):
        raise AnswerFormatError("expected a number, got true/false")
    if isinstance(response, int | float):
        if not math.isfinite(response):
            raise AnswerFormatError(f"{response} is not a finite number")
        return Quantity(float(response), "")
    if isinstance(response, str):
        return parse_quantity(response)
    raise AnswerFormatError(f"expected a number, got a {type(response).__name__}")


_READING_NOTES = {
    "decimal": "Read '{unit}' with decimal prefixes (powers of 1000: MB = 10^6 bytes); "
               "the binary reading (MiB = 2^20 bytes) is accepted here too.",
    "binary": "Read '{unit}' with binary prefixes (powers of 1024: MB as MiB = 2^20 bytes); "
              "the decimal reading (MB = 10^6 bytes) is accepted here too.",
}


def _readings(key: NumericKey, given: Unit, asked: Unit) -> list[tuple[str, float, float]]:
    """(name, student factor, asked factor) for each way to read the prefixes."""
    readings = [("decimal", given.factor, asked.factor)]
    if key.binary_ambiguous and (given.has_binary_reading or asked.has_binary_reading):
        readings.append(("binary", given.binary_factor, asked.binary_factor))
    return readings


@dataclass(frozen=True)
class ReadNumber:
    """A response read as a number with its unit resolved against the asked unit."""

    quantity: Quantity
    given: Unit
    asked: Unit

    @property
    def working_note(self) -> tuple[str, ...]:
        """What became of working written after the answer (it is never read)."""
        working = self.quantity.working
        if not working:
            return ()
        shown = working if len(working) <= 40 else working[:37] + "..."
        answer = " ".join(filter(None, (self.quantity.number_text, self.quantity.unit_text)))
        return (f"Your working '{shown}' was set aside and only {answer} was read. Keep working "
                f"in a YAML comment after the answer (a space, then #): {answer}  # {shown}",)

    @property
    def bare_note(self) -> tuple[str, ...]:
        """How a number without a unit was read, where the asked unit carries a prefix, a word
        or a scale (MFLOP, billion tokens, 1e23 FLOP)."""
        if self.quantity.unit_text or self.asked.scale == 1:
            return ()
        number = self.quantity.number_text or f"{self.quantity.value:g}"
        return (f"A number without a unit is read in the asked unit: {number} was read as "
                f"{with_unit(number, self.asked.text)}. Write the unit after the number if you "
                "meant another one.",)

    @property
    def notes(self) -> tuple[str, ...]:
        """What a format check tells the student about this reading."""
        return (*self.working_note, *self.bare_note)


def read_numeric(unit_text: str, response: object) -> ReadNumber | Result:
    """Read a response for a question asking in ``unit_text``.

    Returns the reading, or the Result for a blank, unreadable or wrong-unit answer.
    Needs no expected value, so it also checks the format of graded workspaces.
    """
    if is_blank(response):
        return unanswered()
    try:
        qty = read_response(response)
    except AnswerFormatError as exc:
        message = str(exc)
        if message.startswith("could not read"):
            return error(f"C{message[1:]}.")
        return error(f"Could not read your answer: {message}.")
    asked = asked_unit(unit_text)
    try:
        given = resolve_against(parse_unit(qty.unit_text, bytes_context=_asks_bytes(unit_text)),
                                asked)
    except UnitMismatch as exc:  # a unit that reads, of another quantity: a wrong answer
        return Result("incorrect", 0.0, (f"Unit problem: {exc}.",), matched="unit")
    except UnitError as exc:  # a unit that does not read: a format problem, like a bad number
        return error(f"Could not read your unit: {exc}. Write a unit the grader knows, or leave "
                     f"it out to answer {asked_in_words(unit_text)}.")
    if not math.isfinite(qty.value * (given.factor / asked.factor)):  # 1e300 YFLOP in MFLOPs
        return error(f"Could not read your answer: it is too large to compute with in the asked unit "
                     f"(beyond about 10^308 {unit_words(unit_text) or 'as a plain number'}).")
    return ReadNumber(qty, given, asked)


def grade_numeric(key: NumericKey, response: object) -> Result:
    """Grade one numeric response. Pure: no I/O, no evaluation of student text."""
    reading = read_numeric(key.unit, response)
    if isinstance(reading, Result):
        return reading
    qty, given, asked = reading.quantity, reading.given, reading.asked
    notes = [*reading.working_note, *given.notes]
    readings = _readings(key, given, asked)
    for name, given_factor, asked_factor in readings:
        value = qty.value * (given_factor / asked_factor)  # the ratio first: no overflow on the way
        expected = key.expected / asked_factor
        if key.tolerance.accepts(value, expected):
            if len(readings) > 1 and given.has_binary_reading:
                notes.append(_READING_NOTES[name].format(unit=given.text))
            return Result("correct", 1.0, ("Correct.", *notes), matched=name)
    value = qty.value * (given.factor / asked.factor)
    expected = key.expected / asked.factor
    for label, feedback, wrong in key.mistakes:
        if key.tolerance.accepts(value, wrong / asked.factor):
            return Result("incorrect", 0.0, (feedback.strip(), *notes), matched=label)
    involved = {d for d, _ in asked.dims} | {d for d, _ in given.dims}
    slip = find_slip(value, expected, key.tolerance, bytes_involved="byte" in involved)
    if slip is not None and "10^" in slip.label:  # a power of ten: say how a bare number was read
        notes += reading.bare_note
    if slip is None:
        slip = near_miss(value, expected, key.tolerance)
    if slip is not None:
        return Result("incorrect", 0.0, (slip.message, *notes), matched=slip.label)
    shown = with_unit(f"{value:.6g}", asked.text) if asked.dims or asked.text == "%" else f"{value:.6g}"
    return Result(
        "incorrect", 0.0,
        (f"Not correct: {shown} does not match the answer "
         f"(checked {key.tolerance.describe()}).", *notes),
    )
