"""A limit on request bodies, enforced before the application reads them."""

from __future__ import annotations

from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_BODY_BYTES = 2 * 1024 * 1024  # 2 MB: a canvas PNG is ~10 kB, a phone photo ~2-4 MB


class BodySizeLimit:
    """ASGI middleware answering 413 to a request body over ``limit`` bytes, whether announced
    by Content-Length or only found while streaming; the rest of it is never read."""

    class TooLarge(Exception):
        pass

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY_BYTES) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        message = f"The request body is over the limit of {self.limit // (1024 * 1024)} MB."
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.limit:
            await JSONResponse({"error": message}, 413)(scope, receive, send)
            return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            incoming = await receive()
            received += len(incoming.get("body", b""))
            if received > self.limit:
                raise BodySizeLimit.TooLarge
            return incoming

        async def tracking_send(outgoing: Message) -> None:
            nonlocal started
            started = started or outgoing["type"] == "http.response.start"
            await send(outgoing)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodySizeLimit.TooLarge:
            if not started:
                await JSONResponse({"error": message}, 413)(scope, receive, send)
