"""What every request passes before the application sees it: the host names the server answers
to (no DNS rebinding), the pages that may call its API (its own), and the headers that stop a
browser from sniffing, framing or misusing what it answers."""

from __future__ import annotations

from collections.abc import Iterable

from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

LOCAL_NAMES = ("127.0.0.1", "localhost", "::1")
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self' data: blob:; object-src 'none'; "
        b"base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    ),
]


def host_name(authority: str) -> str:
    """The host of a ``Host`` header or an origin's authority, lower case, without the port:
    ``"Example.com:8000"`` -> ``"example.com"``, ``"[::1]:8000"`` -> ``"::1"``."""
    authority = authority.strip().lower()
    if authority.startswith("["):
        return authority[1 : authority.find("]")] if "]" in authority else authority
    return authority.rsplit(":", 1)[0] if authority.count(":") == 1 else authority


class RequestGuard:
    """ASGI middleware: answers 400 to a ``Host`` it was not started for, 403 to a state-changing
    request sent by another web site (its ``Origin`` is not this server), and adds the security
    headers to every answer."""

    def __init__(self, app: ASGIApp, hosts: Iterable[str] = ()) -> None:
        self.app = app
        self.hosts = {*LOCAL_NAMES, *(host_name(host) for host in hosts)}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *SECURITY_HEADERS]
            await send(message)

        refusal = self.refusal(scope)
        if refusal is not None:
            status, text = refusal
            await JSONResponse({"error": text}, status)(scope, receive, send_with_headers)
            return
        await self.app(scope, receive, send_with_headers)

    def refusal(self, scope: Scope) -> tuple[int, str] | None:
        """``(status, message)`` for a request to refuse, or None."""
        headers = {key.lower(): value.decode("latin-1") for key, value in scope["headers"]}
        host = headers.get(b"host", "")
        if host_name(host) not in self.hosts:
            names = ", ".join(sorted(self.hosts))
            return 400, f"This server answers to {names}, not {host!r} (see barenet serve --help)."
        if scope["method"] in SAFE_METHODS:
            return None
        origin = headers.get(b"origin")
        cross_site = headers.get(b"sec-fetch-site") == "cross-site"
        if cross_site or (
            origin is not None and origin.partition("://")[2].lower() != host.lower()
        ):
            return (
                403,
                "Requests from other web sites are refused; use the page this server serves.",
            )
        return None
