"""grade serve over HTTP: only 127.0.0.1 with the session's token (then its cookie) is answered,
every refusal is a 403 that says nothing more, a change needs the page's CSRF value and origin,
no URL reaches a file by its path, and the page writes the same answers.yaml and progress that
grade check reads, so the two always agree (graded workspaces: format checks only, nothing of
the key). The browser itself is tests/test_serve_browser.py."""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import pytest

from grader.bank.user_cache import user_cache
from grader.serve.app import STATIC, Server, make_server, static_file
from grader.serve.pages import e as pages_escape
from tests.workspace_helpers import CHECKOUT, check_json, grade, write_answers

ITEMS = "0.1,0.4,1.5,2.5,1.1"


@dataclass
class Page:
    status: int
    headers: dict[str, str]
    text: str

    def json(self) -> dict:
        return json.loads(self.text)


class Client:
    """Requests to one server, as its own page sends them unless told otherwise."""

    def __init__(self, server: Server, ws: Path) -> None:
        self.server, self.ws, self.port = server, ws, server.port
        self.gate = server.session.gate
        self.cookie = f"{self.gate.cookie_name}={self.gate.token}"

    def request(self, method: str, path: str, body: str | None = None, *, host: str | None = None,
                cookie: str | None = "", headers: dict[str, str] | None = None) -> Page:
        sent = {"Host": f"127.0.0.1:{self.port}" if host is None else host}
        if cookie is not None:
            sent["Cookie"] = cookie or self.cookie
        if body is not None:
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        sent.update(headers or {})
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            connection.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
            for name, value in sent.items():
                connection.putheader(name, value)
            data = body.encode() if body is not None else None
            if data is not None:
                connection.putheader("Content-Length", str(len(data)))
            connection.endheaders(data)
            response = connection.getresponse()
            return Page(response.status, {k.lower(): v for k, v in response.getheaders()},
                        response.read().decode("utf-8"))
        finally:
            connection.close()

    def get(self, path: str, **kwargs) -> Page:
        return self.request("GET", path, **kwargs)

    def answer(self, item_id: str, *values: str, csrf: str | None = None, field: str = "answer",
               action: str = "answer", **kwargs) -> Page:
        fields = [("csrf", self.gate.csrf if csrf is None else csrf), *((field, v) for v in values)]
        headers = {"Accept": "application/json", **kwargs.pop("headers", {})}
        return self.request("POST", f"/item/{item_id}/{action}", urlencode(fields), headers=headers, **kwargs)


def _start(ws: Path) -> Server:
    with user_cache():
        server = make_server(ws)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return server


def serving(tmp_path: Path, items: str) -> Iterator[Client]:
    """A workspace of ``items`` made by grade init, served until the test ends."""
    ws = tmp_path / "ws"
    assert grade("init", ws, "--items", items).exit_code == 0
    server = _start(ws)
    try:
        yield Client(server, ws)
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def client(tmp_path: Path) -> Iterator[Client]:
    yield from serving(tmp_path, ITEMS)


def _answers(client: Client) -> str:
    return (client.ws / "answers.yaml").read_text("utf-8")


# -- who is answered ----------------------------------------------------------------------------
def test_the_server_listens_on_127_0_0_1_only(client: Client):
    assert client.server.server_address[0] == "127.0.0.1"
    assert client.server.url == f"http://127.0.0.1:{client.port}/?token={client.gate.token}"
    assert len(client.gate.token) >= 40 and client.gate.token != client.gate.csrf


@pytest.mark.parametrize("path", ["/", "/item/0.1", "/static/serve.js", "/stamp", "/nowhere"])
def test_a_request_without_the_token_or_its_cookie_is_refused(client: Client, path: str):
    for cookie in (None, f"{client.gate.cookie_name}=wrong", f"grade-serve-1={client.gate.token}",
                   "malformed=\"\x00"):
        page = client.get(path, cookie=cookie)
        assert page.status == 403, (path, cookie)
        assert "open the link it printed" in page.text and client.gate.token not in page.text
        assert "set-cookie" not in page.headers
    assert client.get(path + "?token=wrong", cookie=None).status == 403


def test_the_link_with_the_token_sets_a_strict_http_only_cookie_and_drops_the_token(client: Client):
    page = client.get(f"/item/0.1?token={client.gate.token}", cookie=None)
    # a page of this server goes on to the item (a redirect would be the navigation of whoever
    # sent the browser here, and the Strict cookie would not be sent on it)
    assert page.status == 200 and '<meta http-equiv="refresh" content="0;url=/item/0.1">' in page.text
    assert client.gate.token not in page.text
    cookie = page.headers["set-cookie"]
    assert cookie.startswith(f"{client.gate.cookie_name}={client.gate.token};")
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
    assert client.get("/item/0.1", cookie=cookie.split(";")[0]).status == 200


@pytest.mark.parametrize("host", ["evil.example:{port}", "evil.example", "127.0.0.1:1", "localhost",
                                  "127.0.0.1.nip.io:{port}", "[::1]:{port}", "0.0.0.0:{port}", ""])
def test_a_request_naming_another_host_is_refused_even_with_the_token(client: Client, host: str):
    """DNS rebinding: a page elsewhere whose name resolves to 127.0.0.1 sends its own name."""
    host = host.format(port=client.port)
    assert client.get("/", host=host).status == 403
    assert client.get(f"/?token={client.gate.token}", host=host, cookie=None).status == 403
    assert client.answer("0.1", "32256", host=host).status == 403
    assert "32256" not in _answers(client)


def test_localhost_at_the_port_is_this_server_too(client: Client):
    assert client.get("/", host=f"localhost:{client.port}").status == 200


def test_a_change_needs_the_pages_csrf_value_and_origin(client: Client):
    before = _answers(client)
    refused = [client.answer("0.1", "32256", csrf=""),
               client.answer("0.1", "32256", csrf="x" * 43),
               client.answer("0.1", "32256", headers={"Origin": "http://evil.example"}),
               client.answer("0.1", "32256", headers={"Origin": f"http://127.0.0.1:{client.port + 1}"}),
               client.answer("0.1", "32256", headers={"Sec-Fetch-Site": "cross-site"}),
               client.answer("0.1", "32256", headers={"Sec-Fetch-Site": "same-site"}),
               client.request("POST", "/item/0.1/answer", "csrf=&answer=1",
                              headers={"X-CSRF-Token": "nope"}),
               client.answer("0.1", "32256", cookie=None)]  # the CSRF value alone is not enough
    assert [p.status for p in refused] == [403] * len(refused)
    assert all(client.gate.csrf not in p.text and client.gate.token not in p.text for p in refused)
    assert _answers(client) == before and not (client.ws / ".grade").exists()
    ok = client.answer("0.1", "32256", headers={"Origin": f"http://127.0.0.1:{client.port}",
                                                "Sec-Fetch-Site": "same-origin"})
    assert ok.status == 200 and ok.json()["status"] == "correct"


def test_a_form_that_is_too_large_or_not_a_form_is_refused(client: Client):
    big = client.answer("0.6", "x" * (1 << 20), field="source", action="code")
    assert big.status == 413
    other = client.request("POST", "/item/0.1/answer", json.dumps({"answer": "1"}),
                           headers={"Content-Type": "application/json"})
    assert other.status == 415


@pytest.mark.parametrize("path", [
    "/grade.yaml", "/answers.yaml", "/.grade/progress.json", "/static/../grade.yaml",
    "/static/%2e%2e/grade.yaml", "/static/app.py", "/static/", "/item/../grade.yaml",
    "/item/%2e%2e%2fgrade.yaml", "/item/0.1/../../grade.yaml", "/item/nope", "/item/", "//etc/passwd",
    "/static//etc/passwd", "/item/0.1/answer",
])
def test_no_url_reaches_a_file_by_its_path(client: Client, path: str):
    page = client.get(path)
    assert page.status == 404, path
    assert "mode: practice" not in page.text and "root:" not in page.text


def test_the_static_files_are_the_packages_own(client: Client):
    for name, kind in STATIC.items():
        page = client.get(f"/static/{name}")
        assert page.status == 200 and page.headers["content-type"] == kind
        shipped = (CHECKOUT / "grader/serve/static" / name).read_bytes()
        assert page.text.encode() == static_file(name) == shipped


def test_every_page_forbids_other_origins_and_inline_script(client: Client):
    page = client.get("/item/0.1")
    policy = page.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "script-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert page.headers["x-content-type-options"] == "nosniff" and page.headers["cache-control"] == "no-store"
    assert not re.search(r"<script>|\son[a-z]+=|style=|https?://", page.text)  # nothing inline or remote


# -- one workspace, two surfaces --------------------------------------------------------------------
def _result(page: Page) -> str:
    assert page.status == 200, page.text
    return page.json()["result"]


def test_an_answer_is_written_to_answers_yaml_and_graded_as_grade_check_grades_it(client: Client):
    before = _answers(client)
    wrong = _result(client.answer("0.1", "32000"))
    assert "incorrect" in wrong and "You counted only the tokens created by merges" in wrong
    assert "Hint 1/3: What is in the vocabulary before the first merge happens?" in wrong
    assert "Worked solution" not in wrong
    right = client.answer("0.1", "32,256 tokens")
    assert right.json()["status"] == "correct"
    assert "Worked solution" in right.json()["result"]
    assert "256 + 32,000 = 32,256 tokens" in right.json()["result"]
    assert "Mastery <strong>1/5</strong>" in right.json()["standing"]
    assert "Day streak <strong>1 day</strong>" in right.json()["standing"]
    after = _answers(client)
    changed = [(a, b) for a, b in zip(before.splitlines(), after.splitlines(), strict=True) if a != b]
    assert changed == [('"0.1":', '"0.1": 32,256 tokens')]  # every comment and other line kept
    doc = check_json(client.ws, "--item", "0.1")
    assert doc["items"]["0.1"]["status"] == "correct"
    assert "Mastery 1/5" in grade("progress", client.ws).output


def test_options_and_orders_are_written_as_grade_check_reads_them(client: Client):
    for item_id, values in (("0.4", ["B"]), ("1.5", ["A"]), ("2.5", ["C", "A", "D", "B"])):
        page = client.answer(item_id, *values)
        status = page.json()["status"]
        assert check_json(client.ws, "--item", item_id)["items"][item_id]["status"] == status
    assert '"2.5": [C, A, D, B]' in _answers(client) and '"0.4": B' in _answers(client)
    assert 'value="B" checked' in client.get("/item/0.4").text
    page = client.get("/item/2.5").text
    steps = re.findall(r'<li class="step" draggable="true" data-label="([A-Z])"', page)
    assert steps == ["C", "A", "D", "B"]


@pytest.mark.parametrize(("item_id", "values", "why"), [
    ("0.4", ["Z"], "options this item does not have"),
    ("0.4", ["A", "B"], "takes one option"),
    ("2.5", ["A", "B", "C"], "every step once"),
    ("2.5", ["A", "A", "B", "C"], "one twice"),
    ("0.1", ["1\n2"], "one line of text"),
])
def test_an_answer_the_page_could_not_have_sent_is_refused_and_not_written(client: Client, item_id, values,
                                                                          why):
    before = _answers(client)
    page = client.answer(item_id, *values)
    assert page.status in (400, 409) and why in page.json()["error"]
    assert _answers(client) == before


def test_a_change_to_an_item_the_workspace_lacks_or_by_the_wrong_control_is_refused(client: Client):
    before = _answers(client)
    wrong_route = client.answer("0.1", "x = 1\n", field="source", action="code")
    assert wrong_route.status == 400 and wrong_route.json()["error"] == "This item has no file."
    for item_id in ("9.9", "0.1%2Fanswer"):
        page = client.answer(item_id, "1")
        assert page.status == 404 and page.json()["error"] == "This workspace has no such item."
    assert client.get("/stamp?item=9.9").status == 404
    assert _answers(client) == before


def test_a_plain_form_goes_back_to_the_item_page(client: Client):
    """Without the page's script the form posts itself and the browser follows the redirect."""
    form = urlencode({"csrf": client.gate.csrf, "answer": "32256"})
    page = client.request("POST", "/item/0.1/answer", form, headers={"Origin": f"http://127.0.0.1:{client.port}"})
    assert page.status == 303 and page.headers["location"] == "/item/0.1#result"
    assert "✓</span> correct" in client.get("/item/0.1").text


def test_a_file_changed_in_an_editor_is_what_the_page_shows(client: Client):
    stamp = client.get("/stamp?item=0.1").json()["stamp"]
    time.sleep(0.01)
    write_answers(client.ws, {"0.1": "32256"}, raw=True)
    assert client.get("/stamp?item=0.1").json()["stamp"] != stamp  # the page's script reloads
    page = client.get("/item/0.1").text
    assert 'value="32256"' in page and "✓</span> correct" in page and "Worked solution" in page
    assert check_json(client.ws)["items"]["0.1"]["status"] == "correct"


def test_showing_a_page_records_nothing(client: Client):
    write_answers(client.ws, {"0.1": "32000"}, raw=True)
    for _ in range(2):
        assert "Hint 1/3" in client.get("/item/0.1").text
    assert not (client.ws / ".grade/progress.json").exists()
    assert client.answer("0.1", "32000").json()["status"] == "incorrect"
    assert check_json(client.ws, "--item", "0.1")["items"]["0.1"]["feedback"].count("Hint 1/3") == 1


def test_an_unreadable_answers_file_is_reported_as_grade_check_reports_it(client: Client):
    (client.ws / "answers.yaml").write_text('"0.1": [1, 2\n"0.4": B\n', "utf-8")
    message = grade("check", client.ws).stderr.removeprefix("error: ").strip()
    assert message
    assert message.replace("'", "&#x27;") in client.get("/item/0.1").text
    page = client.answer("0.4", "B")
    assert page.status == 409 and page.json()["error"] == message
    assert (client.ws / "answers.yaml").read_text("utf-8") == '"0.1": [1, 2\n"0.4": B\n'


def test_the_overview_shows_each_chapter_and_the_latest_statuses(client: Client):
    client.answer("0.1", "32256")
    page = client.get("/").text
    assert "Chapter 0 · Tokenization &amp; BPE" in page and "1/2 mastered" in page
    assert re.search(r'href="/item/0.1">.*?✓</span> correct', page)
    assert "Mastery <strong>1/5</strong>" in page


# -- graded workspaces ------------------------------------------------------------------------------
SPEC = """\
name: ps1
title: Problem set 1
mode: graded
variants: per-student
roster: roster.txt
items: ["1.1", "0.4", "2.5"]
"""


def test_a_graded_workspace_shows_format_checks_only_and_nothing_of_the_key(tmp_path: Path):
    (tmp_path / "roster.txt").write_text("student_id\nalice\n")
    (tmp_path / "ps1.yaml").write_text(SPEC)
    assert grade("assign", tmp_path / "ps1.yaml", "--out", tmp_path / "release").exit_code == 0
    ws = tmp_path / "release/students/alice"
    key = json.loads((tmp_path / "release/instructor/keys.json").read_text())
    key = key.get("students", key).get("alice", key)
    server = _start(ws)
    try:
        client = Client(server, ws)
        pages = [client.get(f"/item/{item_id}").text for item_id in ("1.1", "0.4", "2.5")]
        assert not any(str(key["1.1"]["answer"])[:5] in page for page in pages)
        right = client.answer("1.1", f"{key['1.1']['answer']}")
        wrong = client.answer("1.1", "1")
        pages += [right.text, wrong.text, client.get("/item/1.1").text, client.get("/").text]
        assert right.json()["status"] == wrong.json()["status"] == "pending"
        for page in (right, wrong):
            assert "Readable. Graded on submission." in page.json()["result"]
            assert "–/1" in page.json()["result"]
        assert check_json(ws, "--item", "1.1")["items"]["1.1"]["status"] == "pending"
        assert client.answer("0.4", key["0.4"]["answer"] if isinstance(key["0.4"]["answer"], str)
                             else key["0.4"]["answer"][0]).json()["status"] == "pending"
        assert client.answer("2.5", *key["2.5"]["answer"]).json()["status"] == "pending"
        text = "\n".join(pages)
        assert "Hint" not in text and "Worked solution" not in text and "correct" not in text.replace(
            "every correct option", "")
        assert "Graded workspace: answers are checked for format only" in text
        assert "Readable <strong>" in text
    finally:
        server.shutdown()
        server.server_close()


# -- the command ------------------------------------------------------------------------------------
@pytest.mark.skipif(sys.platform == "win32", reason="Ctrl-C is a console event on Windows, not a signal")
def test_grade_serve_prints_its_link_answers_it_and_stops_cleanly_on_ctrl_c(tmp_path: Path):
    ws = tmp_path / "ws"
    assert grade("init", ws, "--items", "0.1").exit_code == 0
    env = {**os.environ, "BROWSER": "false"}
    process = subprocess.Popen([sys.executable, "-m", "grader", "serve", str(ws), "--no-browser"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        line = process.stdout.readline()
        match = re.search(r"at (http://127\.0\.0\.1:(\d+)/\?token=(\S+))", line)
        assert match, line + process.stderr.read()
        port, token = int(match.group(2)), match.group(3)
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        connection.request("GET", f"/?token={token}")
        response = connection.getresponse()
        assert response.status == 200 and "HttpOnly" in response.getheader("Set-Cookie")
        connection.close()
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    assert "Stopped." in out and "Traceback" not in err


def test_grade_serve_outside_a_workspace_says_so(tmp_path: Path):
    result = grade("serve", tmp_path, "--no-browser")
    assert result.exit_code == 2 and "not a workspace" in result.stderr


def test_a_port_in_use_is_a_clear_error(client: Client):
    result = grade("serve", client.ws, "--no-browser", "--port", str(client.port))
    assert result.exit_code == 1 and f"cannot listen on 127.0.0.1:{client.port}" in result.output
    assert "Traceback" not in result.output


# -- code items and kernel tasks: saved, run in the sandbox, with grade check's feedback ----------
@pytest.mark.slow
@pytest.mark.sandbox
@pytest.mark.linux_only
def test_code_and_kernel_files_are_saved_run_and_reported_as_grade_check_reports_them(tmp_path: Path):
    from grader.bank.loader import load_bank
    from grader.core.paths import COURSE_ROOT, default_bank_dir

    ws = tmp_path / "ws"
    assert grade("init", ws, "--items", "0.6", "--kernel", "softmax").exit_code == 0
    task = load_bank(default_bank_dir()).bank.kernels["softmax"]
    server = _start(ws)
    try:
        client = Client(server, ws)
        page = client.get("/item/softmax").text
        assert '<textarea id="source" name="source"' in page and "Save and run tests" in page
        sources = {"0.6": "def count_pairs(sequences):\r\n    return {}\r\n",
                   "softmax": (COURSE_ROOT / task.solution).read_text("utf-8")}
        shown = {}
        for item_id, source in sources.items():
            reply = client.answer(item_id, source, field="source", action="code")
            assert reply.status == 200, reply.text
            shown[item_id] = reply.json()
        saved = (ws / "count_pairs/count_pairs.py").read_text("utf-8")
        assert saved == "def count_pairs(sequences):\n    return {}\n"  # the browser's CRLF as LF
        assert (ws / "kernels/softmax.py").read_text("utf-8") == sources["softmax"]
        doc = check_json(ws)["items"]
        for item_id, reply in shown.items():
            assert reply["status"] == doc[item_id]["status"], (item_id, reply["status"], doc[item_id])
            for line in doc[item_id]["feedback"].splitlines():
                assert pages_escape(line) in reply["result"], (item_id, line)
        assert shown["0.6"]["status"] in ("incorrect", "partial"), shown["0.6"]
        assert shown["softmax"]["status"] == "correct", shown["softmax"]  # its reference: every case
        assert client.answer("0.6", "1", action="answer").status == 400  # a code item has no answer line
        assert client.answer("1.1", "x", field="source", action="code").status == 404  # not in this workspace
    finally:
        server.shutdown()
        server.server_close()
