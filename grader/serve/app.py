"""The HTTP server of ``grade serve``: the standard library's ``ThreadingHTTPServer`` on
127.0.0.1, its own routes and nothing else (no route maps a URL to a file path).

Routes: ``GET /`` (the chapters), ``GET /item/ID`` (an item), ``GET /stamp?item=ID`` (whether
the page's files changed), ``GET /static/NAME`` (the page's script, style sheet and icon, by
name), ``POST /item/ID/answer`` and ``POST /item/ID/code``. A POST answers JSON to the page's
script (``Accept: application/json``) and redirects a plain form back to the item.

Every request passes ``gate`` first (403 otherwise); the workspace is read afresh on every
request and one lock keeps the page's own writes and checks in turn.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
import tempfile
import threading
import traceback
import webbrowser
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

from grader.bank.loader import load_bank
from grader.core.fileio import WorkspaceError, write_atomic
from grader.core.paths import default_bank_dir
from grader.core.state import check_state
from grader.model.bank import Bank
from grader.model.entry import ManifestItem
from grader.serve import pages, views
from grader.serve.gate import HOSTS, Gate
from grader.workspace.folder import STATE_DIR, Workspace, open_workspace

MAX_BODY = 1 << 20  # a code file is at most 256 KiB; its form, URL-encoded, a few times that
DRAINED = 16 << 20  # a larger form from the student's own page is read and dropped, to answer 413
STATIC = {"serve.js": "text/javascript; charset=utf-8", "serve.css": "text/css; charset=utf-8",
          "favicon.svg": "image/svg+xml"}
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
                               "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
                               "base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",  # no-referrer would make a form's Origin "null"
    "Cache-Control": "no-store",
    "Cross-Origin-Resource-Policy": "same-origin",
}
NOT_FROM_PAGE = "This change did not come from grade serve's page; load the page again."
REFUSED = ("Not allowed", "grade serve answers only the browser it opened: open the link it printed "
                          "(http://127.0.0.1:PORT/?token=...) in this machine's browser.")


def _first(fields: dict[str, list[str]], name: str) -> str | None:
    values = fields.get(name)
    return values[0] if values else None


def _own_path(path: str) -> str:
    """``path`` when a browser reads it as a path on this server, else "/" (``//host`` and
    ``/\\host`` name another host)."""
    return path if path.startswith("/") and not path.startswith(("//", "/\\")) else "/"


def static_file(name: str) -> bytes:
    """One of the page's own files, shipped in the package (``grader/serve/static/``)."""
    return (resources.files("grader.serve") / "static" / name).read_bytes()


@dataclass
class Session:
    """One server's workspace, bank (loaded once: it does not change while serving), secrets
    and lock."""

    root: Path
    bank: Bank | None
    gate: Gate
    lock: threading.Lock = field(default_factory=threading.Lock)

    def workspace(self) -> Workspace:
        return open_workspace(self.root)


class Reply(Exception):
    """End the request with this status and message page."""

    def __init__(self, status: HTTPStatus, title: str, text: str) -> None:
        super().__init__(text)
        self.status, self.title, self.text = status, title, text


class Handler(BaseHTTPRequestHandler):
    server: Server
    protocol_version = "HTTP/1.1"
    timeout = 120  # a connection left idle, or a body that never comes
    server_version = "grade-serve"
    sys_version = ""
    body_read = False  # this request's body, when it has one, has been read

    # -- plumbing ------------------------------------------------------------------------------
    def log_message(self, format: str, *args: Any) -> None:  # the request log stays quiet
        return

    def _send(self, status: HTTPStatus, body: bytes, content_type: str,
              headers: dict[str, str] | None = None) -> None:
        declared = self.headers.get("Transfer-Encoding") or self.headers.get("Content-Length") or "0"
        if not self.body_read and declared.strip() != "0":  # a body left unread must never be
            self.close_connection = True  # taken for the next request on this connection
        self.send_response(status)
        closing = {"Connection": "close"} if self.close_connection else {}
        for name, value in {**SECURITY_HEADERS, "Content-Type": content_type,
                            "Content-Length": str(len(body)), **closing, **(headers or {})}.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _html(self, text: str, status: HTTPStatus = HTTPStatus.OK) -> None:
        self._send(status, text.encode("utf-8"), "text/html; charset=utf-8")

    def _json(self, doc: dict[str, Any], status: HTTPStatus = HTTPStatus.OK) -> None:
        self._send(status, json.dumps(doc, ensure_ascii=False).encode("utf-8"), "application/json")

    def _redirect(self, location: str, headers: dict[str, str] | None = None) -> None:
        self._send(HTTPStatus.SEE_OTHER, b"", "text/plain", {"Location": location, **(headers or {})})

    def _wants_json(self) -> bool:
        return "application/json" in (self.headers.get("Accept") or "")

    def _refuse(self, exc: Reply) -> None:
        if self._wants_json():
            alert = f'<p class="error" role="alert">{pages.e(exc.text)}</p>'
            self._json({"error": exc.text, "result": alert}, exc.status)
        else:
            self._html(pages.message_page(exc.title, exc.text), exc.status)

    def _handle(self, route: Callable[[str, dict[str, list[str]]], None]) -> None:
        session = self.server.session
        self.body_read = False
        try:
            url = urlsplit(self.path)
            try:
                query: dict[str, list[str]] | None = parse_qs(url.query, max_num_fields=16)
            except ValueError:  # too many fields: no page of this server sends them
                query = None
            self._admit(session.gate, query or {})
            if query is None:
                raise Reply(HTTPStatus.BAD_REQUEST, "Bad request", "This address has too many parameters.")
            if "token" in query and self.command != "POST":  # the link: the token goes to a cookie
                # and the page goes on by itself: a redirect would carry on the navigation of
                # whoever sent the browser here (another page, a file), and a SameSite=Strict
                # cookie is not sent on another site's navigation
                self._send(HTTPStatus.OK, pages.forward_page(_own_path(url.path)).encode("utf-8"),
                           "text/html; charset=utf-8", {"Set-Cookie": session.gate.set_cookie()})
                return
            route(unquote(url.path), query)
        except Reply as exc:
            self._refuse(exc)
        except WorkspaceError as exc:  # what grade check says of the workspace (a .grade that is a link)
            self._refuse(Reply(HTTPStatus.CONFLICT, "The workspace cannot be read", str(exc)))
        except (ConnectionError, TimeoutError):
            pass
        except Exception as exc:  # the student sees a message; the terminal running grade serve the rest
            traceback.print_exc(file=sys.stderr)
            self._refuse(Reply(HTTPStatus.INTERNAL_SERVER_ERROR, "grade serve failed",
                               f"grade serve failed on this request ({type(exc).__name__}); the terminal "
                               "running it shows more. 'grade check' still works."))

    def _admit(self, gate: Gate, query: dict[str, list[str]]) -> None:
        """Refuse (403) a request that does not come to this server's host and port with the
        session's token or cookie; a POST also needs this origin and the CSRF value."""
        if not gate.host_ok(self.headers.get("Host")):
            raise Reply(HTTPStatus.FORBIDDEN, *REFUSED)
        if not (gate.cookie_ok(self.headers.get("Cookie")) or
                (self.command == "GET" and gate.token_ok(_first(query, "token")))):
            raise Reply(HTTPStatus.FORBIDDEN, *REFUSED)
        if self.command == "POST" and not gate.origin_ok(self.headers.get("Origin"),
                                                         self.headers.get("Sec-Fetch-Site")):
            raise Reply(HTTPStatus.FORBIDDEN, "Not allowed", NOT_FROM_PAGE)

    def _form(self) -> dict[str, list[str]]:
        """The POST's form fields (URL-encoded), after its CSRF value is checked."""
        kind = (self.headers.get("Content-Type") or "").split(";")[0].strip()
        if kind != "application/x-www-form-urlencoded":
            raise Reply(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "Not a form", "Send the page's form.")
        try:
            length = int(self.headers.get("Content-Length") or "")
        except ValueError:
            raise Reply(HTTPStatus.LENGTH_REQUIRED, "No length", "Send the page's form.") from None
        if not 0 <= length <= MAX_BODY:
            if 0 < length <= DRAINED:  # so the page gets this answer, not a broken connection
                while length > 0 and (chunk := self.rfile.read(min(length, 1 << 16))):
                    length -= len(chunk)
                self.body_read = True
            raise Reply(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "Too large",
                        f"A form is at most {MAX_BODY >> 10} KiB.")
        body = self.rfile.read(length).decode("utf-8", "replace")
        self.body_read = True
        try:
            form = parse_qs(body, keep_blank_values=True, max_num_fields=256)
        except ValueError:
            raise Reply(HTTPStatus.BAD_REQUEST, "Bad form", "The form has too many fields.") from None
        given = self.headers.get("X-CSRF-Token") or _first(form, "csrf")
        if not self.server.session.gate.csrf_ok(given):
            raise Reply(HTTPStatus.FORBIDDEN, "Not allowed", NOT_FROM_PAGE)
        return form

    # -- routes --------------------------------------------------------------------------------
    def do_GET(self) -> None:  # http.server's name
        self._handle(self._get)

    def do_HEAD(self) -> None:
        self._handle(self._get)

    def do_POST(self) -> None:
        self._handle(self._post)

    def _entry(self, workspace: Workspace, item_id: str) -> ManifestItem:
        entry = workspace.manifest.item(item_id) if "/" not in item_id else None
        if entry is None:
            raise Reply(HTTPStatus.NOT_FOUND, "No such item", "This workspace has no such item.")
        return entry

    def _get(self, path: str, query: dict[str, list[str]]) -> None:
        session = self.server.session
        if path.startswith("/static/"):
            name = path.removeprefix("/static/")
            if name not in STATIC:
                raise Reply(HTTPStatus.NOT_FOUND, "Not found", "No such page.")
            self._send(HTTPStatus.OK, static_file(name), STATIC[name])
            return
        workspace = self._workspace()
        if path == "/stamp":
            item_id = (query.get("item") or [""])[0]
            entry = self._entry(workspace, item_id) if item_id else None
            self._json({"stamp": views.stamp(workspace, entry)})
            return
        if path == "/":
            self._html(self._overview(workspace))
            return
        if path.startswith("/item/"):
            entry = self._entry(workspace, path.removeprefix("/item/"))
            with session.lock:
                view = views.item_view(workspace, session.bank, entry)
            self._html(self._item_page(workspace, view))
            return
        raise Reply(HTTPStatus.NOT_FOUND, "Not found", "No such page.")

    def _post(self, path: str, query: dict[str, list[str]]) -> None:
        session = self.server.session
        item_id, _, action = path.removeprefix("/item/").rpartition("/")
        if not path.startswith("/item/") or action not in ("answer", "code"):
            raise Reply(HTTPStatus.NOT_FOUND, "Not found", "No such page.")
        form = self._form()
        workspace = self._workspace()
        entry = self._entry(workspace, item_id)
        try:
            with session.lock:
                if action == "code":
                    if views.control(entry) != views.FILE:
                        raise Reply(HTTPStatus.BAD_REQUEST, "Not a code item", "This item has no file.")
                    outcome, warnings = views.save_and_run(workspace, session.bank, entry,
                                                             (form.get("source") or [""])[0])
                else:
                    value = views.answer_value(entry, form.get("answer", []))
                    outcome, warnings = views.answer(workspace, session.bank, entry, value)
        except views.BadAnswer as exc:
            raise Reply(HTTPStatus.BAD_REQUEST, "Not an answer", str(exc)) from None
        except WorkspaceError as exc:
            raise Reply(HTTPStatus.CONFLICT, "Could not save", str(exc)) from None
        if not self._wants_json():
            self._redirect(pages.item_url(entry.id) + "#result")
            return
        graded = workspace.manifest.mode == "graded"
        standing = views.standing(workspace, session.bank)
        self._json({"status": outcome.result.status.label,
                    "result": pages.result_html(outcome, warnings, None, graded),
                    "standing": pages.standing_html(standing),
                    "stamp": views.stamp(workspace, entry)})

    # -- pages ---------------------------------------------------------------------------------
    def _workspace(self) -> Workspace:
        try:
            return self.server.session.workspace()
        except WorkspaceError as exc:
            raise Reply(HTTPStatus.CONFLICT, "The workspace cannot be read", str(exc)) from None

    def _document(self, workspace: Workspace, standing: views.Standing, title: str, main: str,
                  entry: ManifestItem | None) -> str:
        session = self.server.session
        stamp_url = "/stamp" + (f"?item={quote(entry.id, safe='')}" if entry else "")
        body = pages.header(views.workspace_name(workspace), standing) + main
        return pages.document(title, body, session.gate.csrf, views.stamp(workspace, entry), stamp_url)

    def _overview(self, workspace: Workspace) -> str:
        session = self.server.session
        standing = views.standing(workspace, session.bank)
        titles = {e.chapter: views.chapter_title(session.bank, e.chapter) for e in workspace.manifest.entries}
        main = pages.overview(views.workspace_name(workspace), workspace.manifest.mode, standing,
                              workspace.manifest.entries, titles)
        return self._document(workspace, standing, views.workspace_name(workspace), main, None)

    def _item_page(self, workspace: Workspace, view: views.ItemView) -> str:
        entries = workspace.manifest.entries
        before, after = views.neighbours(entries, view.entry)
        session = self.server.session
        main = pages.item_page(view, workspace.manifest.mode == "graded", session.gate.csrf,
                               before, after, views.chapter_title(session.bank, view.entry.chapter))
        standing = views.standing(workspace, session.bank)
        return self._document(workspace, standing, f"{view.entry.id} {view.entry.title}", main, view.entry)


class Server(ThreadingHTTPServer):
    """The server of one workspace, on 127.0.0.1 only."""

    daemon_threads = True
    # a restart may take the port again at once (POSIX); Windows' SO_REUSEADDR would let another
    # program take a port in use, so it stays off there
    allow_reuse_address = os.name != "nt"

    def __init__(self, session_for: Callable[[int], Session], port: int = 0) -> None:
        super().__init__((HOSTS[0], port), Handler)
        self.session = session_for(self.server_address[1])

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    @property
    def url(self) -> str:
        return self.session.gate.url()


def make_server(root: Path, port: int = 0, bank: Bank | None = None) -> Server:
    """A server for the workspace at ``root`` on 127.0.0.1 (``port`` 0: a free one), with a
    fresh token; the bank is the workspace's (``bank``, else loaded here)."""
    workspace = open_workspace(root)
    if bank is None:
        bank_dir = Path(workspace.manifest.bank) if workspace.manifest.bank else default_bank_dir()
        bank = load_bank(bank_dir).bank
    return Server(lambda p: Session(root, bank, Gate(p)), port)


def open_page(url: str, state_dir: Path) -> Path:
    """A page that takes the browser on to ``url``, in a fresh folder of the workspace's
    ``.grade`` that only this user can read. The browser is opened on it, not on ``url``:
    webbrowser puts the address on a command line (xdg-open, open, the browser's own), which
    every user of the machine can read in ps, and the address carries the token (Jupyter does
    the same). Not in /tmp, nor a hidden folder of the home directory: a browser installed as
    a snap (Ubuntu's) sees neither, but it sees a workspace in the home directory."""
    check_state(state_dir)  # not a link
    with contextlib.suppress(FileExistsError):
        os.mkdir(state_dir)
    page = Path(tempfile.mkdtemp(prefix="serve-", dir=state_dir)) / "open.html"  # a folder of mode 0700
    write_atomic(page, pages.forward_page(url), mode=0o600)
    return page


def serve(server: Server, open_browser: bool, echo: Callable[[str], None]) -> None:
    """Serve until Ctrl-C (or SIGTERM), after printing the address (and opening it)."""
    echo(f"grade serve: {server.session.root} at {server.url}")
    echo("Open that link in this machine's browser (it carries the session's token). Ctrl-C stops.")
    page = None
    try:
        if open_browser:
            try:
                page = open_page(server.url, server.session.root / STATE_DIR)
                threading.Thread(target=webbrowser.open, args=(page.as_uri(),), daemon=True).start()
            except (OSError, WorkspaceError) as exc:
                echo(f"The browser was not opened ({exc}); open the link above.")
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        echo("Stopped.")
    finally:
        server.server_close()
        if page is not None:
            shutil.rmtree(page.parent, ignore_errors=True)
