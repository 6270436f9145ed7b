"""The class's files from one streaming pass (grader.reporters, grader.batch.outputs), on a
generated class (tests/class_results.py): the same bytes as the reporters wrote before they
streamed, the statistics against a direct computation with numpy, report.md naming students
with whole messages, report.html well-formed and holding its figures, `grade merge` of shards
(in one process or several) equal to one pass, and memory that does not grow with the class."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import tracemalloc
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from grader.batch import outputs
from grader.batch.outputs import write_aggregates
from grader.batch.run import in_shard
from grader.reporters import ItemInfo, StudentResult
from grader.reporters import statistics as class_statistics
from grader.reporters.statistics import ClassStatistics, TopCounts
from grader.reporters.stream import render
from tests.class_results import CHOICE, ERRORS, ITEMS, TITLES, class_results, write_results
from tests.workspace_helpers import grade

GOLDEN = Path(__file__).parent / "data" / "class_outputs_before_streaming.json"
XHTML = "{http://www.w3.org/1999/xhtml}"
SVG = "{http://www.w3.org/2000/svg}"
INFO = {i: ItemInfo(t, *((CHOICE[i][0], frozenset(CHOICE[i][1])) if i in CHOICE else ()))
        for i, t in TITLES.items()}


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _snapshot(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """120 students' results and every reporter's files, written by grade batch's pass."""
    out = tmp_path_factory.mktemp("class") / "out"
    write_results(out, class_results(120))
    warnings: list[str] = []
    write_aggregates(out, warnings, INFO)
    assert warnings == []
    return out


# ---- the same bytes as before ------------------------------------------------------------------

def test_the_streamed_files_are_the_bytes_the_whole_class_reporters_wrote(graded: Path):
    golden = json.loads(GOLDEN.read_text())
    assert golden["students"] == 120 and golden["seed"] == 0
    for relative, digest in golden["sha256"].items():
        data = (graded / relative).read_bytes()
        if relative == "grades.csv":  # since then grades.csv gained the late policy's columns
            rows = list(csv.reader(io.StringIO(data.decode("utf-8"))))
            width = 4 + len(ITEMS)
            assert rows[0][:width] == ["student", "total", "max", "status", *ITEMS]
            cut = io.StringIO()
            csv.writer(cut, lineterminator="\n").writerows(row[:width] for row in rows)
            data = cut.getvalue().encode("utf-8")
        assert _sha(data) == digest, relative
    assert len([p for p in (graded / "gradescope").rglob("*.json")]) == 120


def test_gradescope_dump_is_json_dumps_byte_for_byte():
    from grader.reporters.gradescope_results import dump, gradescope_results

    for doc in class_results(40, seed=3):
        results = gradescope_results(StudentResult.from_json(doc), TITLES)
        assert dump(results) == json.dumps(results, indent=2, ensure_ascii=False) + "\n"
    empty = {"score": 0, "max_score": 0, "tests": [], "visibility": "visible"}
    assert dump(empty) == json.dumps(empty, indent=2, ensure_ascii=False) + "\n"


def test_junit_streams_the_tree_elementtree_would_write():
    from grader.reporters.junit import xml_text

    docs = [StudentResult.from_json(d) for d in class_results(30, seed=5)]
    docs.append(StudentResult("nobody", "graded", None, 0, 0, {}))
    root = ET.Element("testsuites", name="grade batch")
    for s in docs:
        elements = [item.status.junit for item in s.items.values()]
        suite = ET.SubElement(root, "testsuite", name=s.student, tests=str(len(s.items)),
                              failures=str(elements.count("failure")), errors=str(elements.count("error")))
        for item_id, item in s.items.items():
            case = ET.SubElement(suite, "testcase", classname=s.student, name=item_id)
            if item.status.junit is not None:
                ET.SubElement(case, item.status.junit, message=xml_text(item.feedback[:300]),
                              type=item.status.label)
    ET.indent(root)
    assert render(docs)["junit.xml"] == ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"
    empty = ET.Element("testsuites", name="grade batch")
    assert render([])["junit.xml"] == ET.tostring(empty, encoding="unicode", xml_declaration=True) + "\n"


# ---- the statistics ------------------------------------------------------------------------------

def _direct(docs: list[dict]) -> dict[str, np.ndarray]:
    graded = [d for d in docs if d["status"] == "graded"]
    x = np.array([[d["items"][i]["score"] for i in ITEMS] for d in graded])
    return {"x": x, "test": x.sum(axis=1), "total": np.array([d["total"] for d in graded])}


def test_statistics_equal_a_direct_computation():
    docs = class_results(300, seed=11)
    stats = ClassStatistics(outputs_info(docs))
    for doc in docs:
        stats.add(StudentResult.from_json(doc))
    direct = _direct(docs)
    x, test = direct["x"], direct["test"]
    assert stats.graded == len(x) and stats.students == 300
    assert stats.mean_total == pytest.approx(direct["total"].mean(), abs=1e-12)
    assert stats.sd_total == pytest.approx(direct["total"].std(), abs=1e-9)
    points = np.array(list(ITEMS.values()))
    for k, item in enumerate(stats.items()):
        assert item.students == len(x)
        assert item.mean == pytest.approx(x[:, k].mean(), abs=1e-12)
        assert item.difficulty == pytest.approx(x[:, k].mean() / points[k], abs=1e-12)
        rest = test - x[:, k]
        assert item.discrimination == pytest.approx(np.corrcoef(x[:, k], rest)[0, 1], abs=1e-9)
        passed = sum(d["items"][item.item_id]["status"] == "correct" for d in docs if d["status"] == "graded")
        assert item.passed == passed
    item_var, test_var = x.var(axis=0).sum(), test.var()
    assert stats.alpha() == pytest.approx(len(ITEMS) / (len(ITEMS) - 1) * (1 - item_var / test_var), abs=1e-9)
    counts = [c for _, _, c in stats.bins()]
    edges = [low for low, _, _ in stats.bins()] + [stats.bins()[-1][1]]
    assert sum(counts) == len(x) and stats.bin_width == 1.0 and edges[-1] == sum(ITEMS.values())
    expected, _ = np.histogram(direct["total"], bins=edges)  # numpy's last bin is closed too
    assert counts == expected.tolist()


def outputs_info(docs: list[dict]):
    from grader.reporters import ClassInfo

    return ClassInfo(tuple(docs[0]["items"]), INFO)


def test_the_options_chosen_are_counted_per_option():
    docs = class_results(200, seed=2)
    stats = ClassStatistics(outputs_info(docs))
    for doc in docs:
        stats.add(StudentResult.from_json(doc))
    for item_id, (options, _right) in CHOICE.items():
        written = [d["analysis"][item_id]["matched"] for d in docs
                   if d["status"] == "graded" and item_id in d["analysis"]]
        tally = stats.choices[item_id]
        assert tally.answered == len(written)
        assert {o: tally.chosen[o] for o in options} == {o: sum(o in w.split(",") for w in written)
                                                         for o in options}


def test_a_discrimination_is_none_where_nothing_varies():
    docs = [d for d in class_results(40) if d["status"] == "graded"]
    for doc in docs:  # everyone right on 1.1
        doc["items"]["1.1"].update(status="correct", score=1.0)
    stats = ClassStatistics(outputs_info(docs))
    for doc in docs:
        stats.add(StudentResult.from_json(doc))
    by_id = {item.item_id: item for item in stats.items()}
    assert by_id["1.1"].discrimination is None and by_id["1.1"].difficulty == 1.0
    assert by_id["1.2"].discrimination is not None


def test_top_counts_are_exact_until_bounded_then_keep_the_frequent_with_bounds():
    exact = TopCounts(capacity=4)
    for value in "aaabbc":
        exact.add(value)
    assert exact.exact and exact.top(2) == [("a", 3), ("b", 2)]
    bounded = TopCounts(capacity=10)  # a value seen more than 1000 / 11 times is kept
    stream = [f"rare {n}" for n in range(1000)]
    stream[::5] = ["common"] * 200
    stream[2::10] = ["second"] * 100
    for value in stream:
        bounded.add(value)
        assert len(bounded.counts) <= 20
    top = dict(bounded.top(2))
    assert not bounded.exact and list(top) == ["common", "second"] and bounded.slack <= 1000 / 11
    assert top["common"] <= 200 <= top["common"] + bounded.slack
    assert top["second"] <= 100 <= top["second"] + bounded.slack


def test_report_md_shows_bounded_counts_as_ranges(tmp_path: Path, monkeypatch):
    monkeypatch.setattr(class_statistics, "TOP_CAPACITY", 2)
    report = render(StudentResult.from_json(d) for d in class_results(300, seed=4))["report.md"]
    assert re.search(r"\| 1\.1 \| [^|]+ \| [^|]+ \| [^|]*×\d+–\d+", report)
    assert "past 4 different answers to an item, only the most frequent are counted exactly" in report


# ---- report.md -----------------------------------------------------------------------------------

def test_report_md_names_students_with_whole_messages(tmp_path: Path):
    docs = class_results(120)
    docs[5]["on_roster"] = False
    out = tmp_path / "out"
    write_results(out, docs)
    (out / "intake.json").write_text(json.dumps({"unmatched": [
        {"entry": "alice_1234_5678_answers.yaml", "reason": "Canvas user 1234 is not on the roster"}],
        "not_on_roster": [docs[5]["student"]]}))
    write_aggregates(out, items=INFO)
    report = (out / "report.md").read_text()
    errors = [d for d in docs if d["status"] == "error"]
    missing = [d["student"] for d in docs if d["status"] == "no submission"]
    long_error = next(d for d in errors if d["error"] == ERRORS[0])
    assert len(ERRORS[0]) > 300
    assert (f"- {long_error['student']}: answers.yaml is not valid YAML: while parsing a flow sequence, "
            "line 1, column 8") in report
    whole = report.count("\\| &lt;b&gt;bold&lt;/b&gt; second line")  # its end, the line break a space
    assert whole == sum(d["error"] == ERRORS[0] for d in errors) > 0
    section = report.split("## No submission\n\n")[1].split("\n\n")[0]
    assert section.splitlines() == [f"- {s}" for s in missing]
    assert f"## Graded, but not on the roster\n\n- {docs[5]['student']}\n" in report
    assert ("## Entries matched to no student (not graded)\n\n- alice\\_1234\\_5678\\_answers.yaml: "
            "Canvas user 1234 is not on the roster") in report
    assert "120 students: " in report and "; 1 not on the roster; 1 entries matched no student." in report


# ---- report.html ---------------------------------------------------------------------------------

def test_report_html_is_well_formed_and_holds_the_figures(graded: Path):
    page = ET.parse(graded / "report.html").getroot()  # XML: well-formed
    assert page.tag == f"{XHTML}html"
    text = "".join(page.itertext())
    assert "<script" not in (graded / "report.html").read_text() and "http://" not in text
    figures = page.findall(f".//{SVG}svg")
    labels = [svg.get("aria-label") for svg in figures]
    assert labels[0].startswith("Histogram of the") and labels[1].startswith("Each item's difficulty")
    assert [lab for lab in labels[2:]] == [f"Options chosen on item {i}: {TITLES[i]}" for i in CHOICE]
    docs = class_results(120)
    direct = _direct(docs)
    bars = figures[0].findall(f"{SVG}rect")
    counts = [int(re.search(r": (\d+) student", bar.find(f"{SVG}title").text).group(1)) for bar in bars]
    assert sum(counts) == len(direct["x"])
    rows = page.findall(f".//{XHTML}table/{XHTML}tr")[1:]
    assert [row[0].text for row in rows] == list(ITEMS)
    for k, row in enumerate(rows):  # the discrimination column against numpy
        expected = np.corrcoef(direct["x"][:, k], direct["test"] - direct["x"][:, k])[0, 1]
        assert row[6].text == f"{expected:.2f}"
        assert row[1].text == TITLES[row[0].text]  # the title's <&> " escaped, read back whole
    for svg, (options, right) in zip(figures[2:], CHOICE.values(), strict=True):
        names = [t.text for t in svg.findall(f"{SVG}text")][::2]
        assert names[:len(options)] == [f"option {o}" + (" (right)" if o in right else "") for o in options]
        kinds = [r.get("class") for r in svg.findall(f"{SVG}rect")][:len(options)]
        assert kinds == ["right" if o in right else "bar" for o in options]


def test_report_html_escapes_what_students_wrote():
    docs = class_results(20)
    docs[3]["student"] = docs[3]["student"]  # ids are safe; titles and answers are not
    info = {**INFO, "1.0": ItemInfo("<script>alert(1)</script> & \x01", ("A", "B", "C", "D"), frozenset("B"))}
    html = render((StudentResult.from_json(d) for d in docs), info)["report.html"]
    ET.fromstring(html)
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; \ufffd" in html


# ---- grade merge, one process or several ------------------------------------------------------

def _shards(docs: list[dict], root: Path, n: int) -> list[Path]:
    shards = [root / f"shard{k}" for k in range(1, n + 1)]
    for k, shard in enumerate(shards, 1):
        write_results(shard, [d for d in docs if in_shard(d["student"], (k, n))])
    return shards


@pytest.mark.parametrize("parallel", [False, True], ids=["one process", "processes"])
def test_merge_of_shards_is_one_pass_over_the_class(tmp_path: Path, monkeypatch, bank, parallel: bool):
    docs = class_results(150, seed=8)
    single = tmp_path / "single"
    write_results(single, docs)
    write_aggregates(single, items=outputs.item_infos(bank))  # what grade merge knows of the items
    if parallel:  # the class's students shared out among processes, as for a large class
        monkeypatch.setattr(outputs, "PARALLEL_FROM", 1)
    merged = tmp_path / "merged"
    result = grade("merge", *_shards(docs, tmp_path, 3), "--out", merged)
    assert result.exit_code == 0 and "Merged 150 student results from 3 shard(s)" in result.output
    assert _snapshot(merged) == _snapshot(single)


def test_merge_names_unreadable_results_and_refuses_mixed_banks(tmp_path: Path):
    docs = class_results(30)
    shards = _shards(docs, tmp_path, 2)
    (shards[0] / "results" / "zz-broken.json").write_text("{not json")
    merged = tmp_path / "merged"
    result = grade("merge", *shards, "--out", merged)
    assert result.exit_code == 0
    assert "warning: skipped zz-broken.json: Expecting property name" in result.output
    assert "zz-broken" not in (merged / "grades.csv").read_text()
    first = next((shards[1] / "results").glob("*.json"))
    first.write_text(first.read_text().replace('"bank": "generated"', '"bank": "another"'))
    result = grade("merge", *shards, "--out", tmp_path / "again")
    assert result.exit_code == 2 and "graded with different banks" in result.output
    assert not (tmp_path / "again").exists()


# ---- memory ----------------------------------------------------------------------------------------

def _peak(out: Path) -> int:
    tracemalloc.start()
    try:
        write_aggregates(out, items=INFO)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.slow
def test_the_pass_holds_no_class_in_memory(tmp_path: Path, monkeypatch):
    """Eight times the students, and the peak of Python's memory barely moves: it grows by the
    files' names (a few hundred bytes a student) and nothing of their results (about 30 kB each).
    The answer summaries are bounded too, but by their capacity, small here."""
    monkeypatch.setattr(class_statistics, "TOP_CAPACITY", 10)
    small, large = tmp_path / "small", tmp_path / "large"
    write_results(small, class_results(250, seed=1))
    write_results(large, class_results(2000, seed=1))
    _peak(large)  # once before: the bounded caches fill, Python's own tables (interned strings) grow
    growth = _peak(large) - _peak(small)
    assert growth < 1750 * 600, growth  # holding the results would be some 50 MB more
