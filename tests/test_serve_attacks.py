"""grade serve under attack: what another program on this machine, another user of it, or a web
page the student visits while the server runs can try, each found in review and fixed. The
server's ordinary admission rules are tests/test_serve.py."""

from __future__ import annotations

import json
import os
import re
import socket
import stat
import threading
import webbrowser
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

import pytest

from grader.serve import app
from grader.serve.pages import e as pages_escape
from tests.test_serve import Client, serving
from tests.workspace_helpers import grade


@pytest.fixture
def client(tmp_path: Path) -> Iterator[Client]:
    yield from serving(tmp_path, "0.1,0.4")


# -- cookies: every port of 127.0.0.1 shares them ------------------------------------------------
@pytest.mark.parametrize("other", ['prefs={"theme": "dark"}', "name=Ada Lovelace", "city=Zürich",
                                   'quote="open', "grade-serve-PORT=planted"])
def test_another_programs_cookie_on_127_0_0_1_does_not_lock_the_student_out(client: Client, other: str):
    """A web app on another port of 127.0.0.1 (a notebook, a dev server) sets cookies the
    browser also sends here: a JSON value, a space, a non-ASCII letter, or one of this cookie's
    name. None of them may hide the session's cookie, in either order."""
    other = other.replace("PORT", str(client.port))
    for header in (f"{other}; {client.cookie}", f"{client.cookie}; {other}"):
        assert client.get("/", cookie=header).status == 200, header
    assert client.get("/", cookie=other).status == 403
    assert client.get("/", cookie=f"x{client.cookie}").status == 403
    assert client.get("/", cookie=f"{client.cookie}x").status == 403


# -- what a request the server refuses leaves behind -----------------------------------------------
def _raw(client: Client, data: bytes) -> str:
    """Everything the server sends back on one connection for ``data``, until it closes it (or
    has said nothing more for 2 s)."""
    with socket.create_connection(("127.0.0.1", client.port), timeout=2) as conn:
        conn.sendall(data)
        received = b""
        try:
            while chunk := conn.recv(65536):
                received += chunk
        except TimeoutError:
            pass
    return received.decode("latin-1")


def test_many_query_fields_are_refused_quietly(client: Client, capfd: pytest.CaptureFixture[str]):
    """Any web page can send them (an <img> pointed at the port): a 500 and a traceback in the
    student's terminal for each, before the token was even looked at."""
    query = "&".join(f"f{i}=1" for i in range(40))
    assert client.get(f"/?{query}", cookie=None).status == 403
    assert client.get(f"/?{query}&token={client.gate.token}", cookie=None).status == 403
    assert client.get(f"/?{query}").status == 400  # the student's own browser: a bad request
    assert "Traceback" not in capfd.readouterr().err


@pytest.mark.slow
@pytest.mark.parametrize("why", ["no cookie", "not a form", "no CSRF value"])
def test_a_refused_posts_body_is_never_read_as_a_request(client: Client, why: str):
    """A page elsewhere may post a text/plain form whose body is itself a request: refused, its
    body must not be taken for the next request on the same connection."""
    inner = f"GET /static/serve.js HTTP/1.1\r\nHost: 127.0.0.1:{client.port}\r\n\r\n"
    headers = ["POST /item/0.1/answer HTTP/1.1", f"Host: 127.0.0.1:{client.port}",
               f"Content-Length: {len(inner)}"]
    headers.append("Content-Type: " + ("text/plain" if why == "not a form" else
                                       "application/x-www-form-urlencoded"))
    if why != "no cookie":
        headers.append(f"Cookie: {client.cookie}")
    reply = _raw(client, ("\r\n".join(headers) + "\r\n\r\n" + inner).encode())
    assert reply.count("HTTP/1.1 ") == 1, reply
    assert reply.startswith(("HTTP/1.1 403", "HTTP/1.1 415")), reply[:60]


@pytest.mark.parametrize("target", ["/\\evil.example/?token=T", "/\\/evil.example?token=T",
                                    "http://127.0.0.1:PORT//evil.example/?token=T"])
def test_the_tokens_link_goes_on_only_to_this_server(client: Client, target: str):
    """The link's page goes on to its path without the token; a path a browser reads as another
    host (//host, /\\host) goes to the chapters instead."""
    target = target.replace("PORT", str(client.port)).replace("token=T", f"token={client.gate.token}")
    page = client.get(target, cookie=None)
    assert page.status == 200 and "set-cookie" in page.headers
    assert re.findall(r'(?:url=|href=")([^">]*)', page.text) == ["/", "/"], page.text


# -- the token -------------------------------------------------------------------------------------
def test_the_browser_is_opened_without_the_token_on_its_command_line(client: Client,
                                                                     monkeypatch: pytest.MonkeyPatch):
    """webbrowser runs the browser (xdg-open, open, a browser's binary) with the address as an
    argument, which every user of a shared machine reads in ps: the browser gets a page of this
    user's alone in the workspace's .grade that leads on to the link, as Jupyter does, and the
    page is gone afterwards."""
    opened: list[str] = []
    ready = threading.Event()
    monkeypatch.setattr(webbrowser, "open", lambda url, *a, **k: (opened.append(url), ready.set()))
    lines: list[str] = []
    serving = threading.Thread(target=app.serve, args=(client.server, True, lines.append))
    client.server.shutdown()  # the fixture's own loop; app.serve runs the server here
    serving.start()
    try:
        assert ready.wait(10)
        (url,) = opened
        assert client.gate.token not in url and url.startswith("file:")
        page = Path(url2pathname(urlsplit(url).path))
        assert client.server.url in page.read_text("utf-8")
        assert page.parent.parent == client.ws / ".grade"  # not /tmp: a snap browser does not see it
        if os.name == "posix":
            assert stat.S_IMODE(page.stat().st_mode) == 0o600
            assert stat.S_IMODE(page.parent.stat().st_mode) == 0o700
        assert client.server.url in lines[0]  # the terminal still shows the link
    finally:
        client.server.shutdown()
        serving.join(10)
    assert not page.exists()
    assert not page.parent.exists()



@pytest.mark.skipif(not hasattr(os, "symlink"), reason="no symbolic links here")
def test_where_the_opening_page_cannot_be_written_the_link_is_still_served(client: Client, tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch):
    """A .grade that is a link (or a folder that cannot be written): nothing is written through
    it, the browser is not opened, the terminal says to open the link, and the server runs."""
    elsewhere = tmp_path / "elsewhere"
    (client.ws / ".grade").symlink_to(elsewhere, target_is_directory=True)
    opened: list[str] = []
    monkeypatch.setattr(webbrowser, "open", lambda url, *a, **k: opened.append(url))
    lines: list[str] = []
    client.server.shutdown()
    serving = threading.Thread(target=app.serve, args=(client.server, True, lines.append))
    serving.start()
    try:
        for _ in range(100):
            if len(lines) >= 3 or not serving.is_alive():
                break
            threading.Event().wait(0.1)
        assert client.get("/static/serve.css").status == 200
        page = client.get("/")  # what grade check says of such a .grade, not a crash
        message = grade("check", client.ws).stderr.removeprefix("error: ").strip()
        assert page.status == 409 and "symbolic link" in message, (page.status, message)
        assert pages_escape(message) in page.text
    finally:
        client.server.shutdown()
        serving.join(10)
    assert opened == [] and not elsewhere.exists()
    assert "open the link above" in lines[2] and "symbolic link" in lines[2], lines


# -- the page and grade check at once -------------------------------------------------------------
@pytest.mark.slow
def test_an_answer_checked_on_the_page_during_a_grade_check_is_kept(client: Client,
                                                                    monkeypatch: pytest.MonkeyPatch):
    """grade check loads the progress, checks (code items run for seconds) and saves it: an
    answer checked on the page meanwhile was recorded, then overwritten by grade check's older
    copy (its status, the mastery it brought, the day). Here grade check is a thread held
    between its load and its save while the page answers."""
    from grader.grading import check
    from grader.workspace.folder import open_workspace

    started, go = threading.Event(), threading.Event()
    checking = check.check_answers

    def held(*args, **kwargs):  # grade check's own call waits, the page's goes straight on
        if threading.current_thread().name == "grade check":
            started.set()
            go.wait(10)
        return checking(*args, **kwargs)

    monkeypatch.setattr(check, "check_answers", held)
    cli = threading.Thread(target=check.check_workspace, args=(open_workspace(client.ws), ("0.4",)),
                           name="grade check")
    cli.start()
    assert started.wait(10)
    replies: list[int] = []
    page = threading.Thread(target=lambda: replies.append(client.answer("0.1", "32256").status))
    page.start()
    page.join(1.5)  # unlocked, the page is done by now; locked, it waits for grade check
    go.set()
    cli.join(10), page.join(10)
    assert replies == [200]
    progress = json.loads((client.ws / ".grade/progress.json").read_text("utf-8"))
    assert progress["items"]["0.1"]["status"] == "correct", progress
    assert progress["items"]["0.4"]["status"] == "unanswered" and progress["checks"] == 2
