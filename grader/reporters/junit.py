"""junit.xml: one testsuite per student, one testcase per item, holding the element its Status
names (a failure, an error, or nothing when it passed); no timings, so it is deterministic."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from grader.reporters import ClassResults, reporter

_NOT_XML = re.compile("[^\x09\x0a\x0d\x20-\ud7ff\ue000-\ufffd]")


def _xml_text(text: str) -> str:
    return _NOT_XML.sub("\ufffd", text)


@reporter("junit.xml")
def render(results: ClassResults) -> dict[str, str]:
    return {"junit.xml": junit_xml(results)}


def junit_xml(results: ClassResults) -> str:
    root = ET.Element("testsuites", name="grade batch")
    for s in results.students:
        elements = [item.status.junit for item in s.items.values()]
        suite = ET.SubElement(root, "testsuite", name=s.student, tests=str(len(s.items)),
                              failures=str(elements.count("failure")), errors=str(elements.count("error")))
        for item_id, item in s.items.items():
            case = ET.SubElement(suite, "testcase", classname=s.student, name=item_id)
            if item.status.junit is not None:
                ET.SubElement(case, item.status.junit, message=_xml_text(item.feedback[:300]),
                              type=item.status.label)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"
