"""Who may use a ``grade serve`` page: requests to 127.0.0.1 (or localhost) at the server's own
port, carrying the session's random token (in the URL once, as Jupyter does, then in a cookie),
and for a change, the session's CSRF value from a page the server wrote.

- The Host header must name 127.0.0.1 or localhost at the port: a web page elsewhere that
  points its own name at 127.0.0.1 (DNS rebinding) sends its own name and is refused.
- The cookie is HttpOnly and SameSite=Strict: no script reads it and no other site's page
  sends it. Its name carries the port, so two servers keep their own.
- A POST must carry the CSRF value (a form field or the X-CSRF-Token header) and, when the
  browser says where it comes from (Origin, Sec-Fetch-Site), come from this origin.

Every comparison of a secret is constant-time (``secrets.compare_digest``).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

HOSTS = ("127.0.0.1", "localhost")


def _new_secret() -> str:
    return secrets.token_urlsafe(32)


def _same(given: str | None, secret: str) -> bool:
    return given is not None and secrets.compare_digest(given.encode("utf-8", "replace"), secret.encode())


@dataclass(frozen=True)
class Gate:
    """One server's secrets and the checks a request passes."""

    port: int
    token: str = field(default_factory=_new_secret, repr=False)
    csrf: str = field(default_factory=_new_secret, repr=False)

    @property
    def cookie_name(self) -> str:
        return f"grade-serve-{self.port}"

    @property
    def origins(self) -> tuple[str, ...]:
        return tuple(f"http://{host}:{self.port}" for host in HOSTS)

    def host_ok(self, host: str | None) -> bool:
        """The Host header names this server (127.0.0.1 or localhost, at its port)."""
        return host is not None and host.strip().lower() in {f"{h}:{self.port}" for h in HOSTS}

    def cookie_ok(self, header: str | None) -> bool:
        """The Cookie header carries the session's token. Read leniently, pair by pair: every
        port of 127.0.0.1 shares cookies, so another program's may hold what ``http.cookies``
        gives up on (a space, JSON, a non-ASCII letter), or take this cookie's name."""
        pairs = (part.split("=", 1) for part in (header or "").split(";"))
        return any(len(pair) == 2 and pair[0].strip() == self.cookie_name
                   and _same(pair[1].strip(), self.token) for pair in pairs)

    def token_ok(self, given: str | None) -> bool:
        return _same(given, self.token)

    def csrf_ok(self, given: str | None) -> bool:
        return _same(given, self.csrf)

    def origin_ok(self, origin: str | None, fetch_site: str | None) -> bool:
        """The browser's own word on where a request comes from, when it gives one."""
        if fetch_site is not None and fetch_site not in ("same-origin", "none"):
            return False
        return origin is None or origin in self.origins

    def set_cookie(self) -> str:
        """The Set-Cookie header that lets the pages load without the token in the URL."""
        return f"{self.cookie_name}={self.token}; Path=/; HttpOnly; SameSite=Strict"

    def url(self, host: str = HOSTS[0]) -> str:
        """The address to open: the token in the URL, as Jupyter prints it."""
        return f"http://{host}:{self.port}/?token={self.token}"
