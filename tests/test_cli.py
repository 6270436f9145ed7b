"""The JSON contracts of `grade list`, `show`, `key` and `errata`."""

from __future__ import annotations

import json

from click.testing import CliRunner

from grader.cli import main


def _json(*args: str):
    result = CliRunner().invoke(main, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_list_json_shape_and_filters():
    entries = _json("list")
    assert len(entries) == 51
    assert entries[0] == {"id": "0.1", "chapter": 0, "title": entries[0]["title"], "type": "derive"}
    assert all(set(e) == {"id", "chapter", "title", "type"} for e in entries)
    assert [e["id"] for e in _json("list", "--chapter", "3")] == ["3.1", "3.2", "3.3", "3.4", "3.5"]
    assert {e["id"] for e in _json("list", "--type", "design")} == {"2.5", "9.4"}


def test_show_json_for_each_kind():
    derive = _json("show", "1.1")
    assert set(derive) >= {"id", "type", "title", "prompt", "unit"}
    assert "[1,024, 4,096]" in derive["prompt"] and "answer" not in derive
    trace = _json("show", "1.5")
    assert [o["id"] for o in trace["options"]][:4] == ["A", "B", "C", "D"]
    assert all(set(o) == {"id", "text"} for o in trace["options"])
    design = _json("show", "2.5")
    assert len(design["options"]) == 4
    solved = _json("show", "2.5", "--solution")
    assert sorted(solved["answer"]["answer"]) == ["A", "B", "C", "D"]
    assert solved["derivation"]


def test_show_unknown_item_is_a_usage_error():
    result = CliRunner().invoke(main, ["show", "12.9"])
    assert result.exit_code == 2
    assert "no item '12.9'" in result.output


def test_key_json_covers_every_item():
    key = _json("key")
    assert len(key) == 51
    assert key["1.1"]["type"] == "derive" and key["1.1"]["unit"] == "MFLOP"
    assert abs(key["1.1"]["answer"] - 34359.738368) < 1e-6
    assert key["1.4"]["accept"] == [{"value": 192.0, "unit": "MiB", "reading": "binary"}]
    assert key["2.2"]["answer"] == 5376
    assert isinstance(key["1.5"]["answer"], str)
    assert isinstance(key["9.4"]["answer"], list) and len(key["9.4"]["answer"]) == 5
    assert key["0.6"]["answer"].endswith("count_pairs.py")


def test_errata_json_lists_item_and_chapter_errata():
    entries = _json("errata", "--kind", "all")
    assert len(entries) >= 20
    assert {"where", "chapter", "item", "kind", "about", "workbook", "correct", "why"} <= set(entries[0])
    items = {e["item"] for e in entries}
    assert {"2.2", "6.3", "8.5", "9.6", "1.4"} <= items
    assert any(e["item"] is None and e["chapter"] == 9 for e in entries)


def test_human_readable_commands_run():
    runner = CliRunner()
    for args in (["list"], ["show", "1.4", "--solution"], ["key"], ["errata"], ["validate"]):
        result = runner.invoke(main, args)
        assert result.exit_code == 0, (args, result.output)


def test_batch_workers_must_be_at_least_one(tmp_path):
    (tmp_path / "subs").mkdir()
    for workers in ("0", "-3"):
        result = CliRunner().invoke(main, ["batch", str(tmp_path / "subs"), "--out", str(tmp_path / "out"),
                                           "--workers", workers])
        assert result.exit_code == 2, result.output
        assert "--workers" in result.output and ">=1" in result.output
        assert not (tmp_path / "out").exists()  # refused before anything is written
