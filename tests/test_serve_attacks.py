"""grade serve under attack: what another program on this machine, another user of it, or a web
page the student visits while the server runs can try, each found in review and fixed. The
server's ordinary admission rules are tests/test_serve.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.test_serve import Client, _start
from tests.workspace_helpers import grade


@pytest.fixture
def client(tmp_path: Path) -> Iterator[Client]:
    ws = tmp_path / "ws"
    assert grade("init", ws, "--items", "0.1,0.4").exit_code == 0
    server = _start(ws)
    try:
        yield Client(server, ws)
    finally:
        server.shutdown()
        server.server_close()


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
