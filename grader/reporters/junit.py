"""junit.xml: one testsuite per student, one testcase per item, holding the element its Status
names (a failure, an error, or nothing when it passed); no timings, so it is deterministic."""

from __future__ import annotations

import functools
import re

from grader.reporters import Reporter, StudentResult, reporter
from grader.results.status import Status

_NOT_XML = re.compile("[^\x09\x0a\x0d\x20-\ud7ff\ue000-\ufffd]")


def xml_text(text: str) -> str:
    """Text XML 1.0 can hold: each character it cannot, a lone surrogate or a control character,
    as U+FFFD."""
    return _NOT_XML.sub("\ufffd", text)


_ESCAPES = (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ('"', "&quot;"), ("\r", "&#13;"), ("\n", "&#10;"),
            ("\t", "&#09;"))
_SPECIAL = re.compile('[&<>"\r\n\t]')


def _attr(value: str) -> str:
    """An attribute's value as ElementTree writes it (the same escapes)."""
    if _SPECIAL.search(value):
        for char, escape in _ESCAPES:
            value = value.replace(char, escape)
    return value


@reporter("junit.xml")
class JunitXml(Reporter):
    """Written a testsuite at a time as the students pass, as ElementTree would indent the whole
    tree (a test compares them)."""

    def start(self) -> None:
        self.sink = self.out.stream("junit.xml")
        self.sink.write("<?xml version='1.0' encoding='utf-8'?>\n")
        self.empty = True

    def add(self, s: StudentResult) -> None:
        if self.empty:
            self.sink.write('<testsuites name="grade batch">\n')
            self.empty = False
        self.sink.write(testsuite(s))

    def close(self) -> None:
        self.sink.write('<testsuites name="grade batch" />\n' if self.empty else "</testsuites>\n")


def testsuite(s: StudentResult) -> str:
    """One student's testsuite element, indented one level, and a line break."""
    elements = [item.status.junit for item in s.items.values()]
    student = _attr(s.student)
    head = (f'  <testsuite name="{student}" tests="{len(s.items)}" failures="{elements.count("failure")}" '
            f'errors="{elements.count("error")}"')
    if not s.items:
        return head + " />\n"
    lines = [head + ">"]
    for item_id, item in s.items.items():
        case = f'    <testcase classname="{student}" name="{_attr(item_id)}"'
        lines.append(case + (" />" if item.status.junit is None else _failure(item.status, item.feedback)))
    lines.append("  </testsuite>\n")
    return "\n".join(lines)


@functools.lru_cache(maxsize=4096)  # a class's results repeat the same few messages
def _failure(status: Status, feedback: str) -> str:
    """The rest of a testcase that did not pass: its element, holding the message, and its end."""
    message, label = _attr(xml_text(feedback[:300])), _attr(status.label)
    return f'>\n      <{status.junit} message="{message}" type="{label}" />\n    </testcase>'
