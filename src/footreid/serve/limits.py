"""The demo's limits: request time, request body size and uploads embedded at once.

A laptop demo must stay responsive whatever clients do. Three bounds, each answered at
once with a JSON ``{"detail": ...}`` rather than queued:

* **time**: a request still running after ``timeout_s`` answers 504. Its coroutine is
  cancelled, and with it an embedding that has not started yet (the batcher skips a
  cancelled future); work already in a worker thread cannot be interrupted in Python,
  but each step there is small and bounded (decode under the pixel cap, one batch, one
  ranking) and the worker threads are a fixed pool, so nothing runs unbounded.
* **body size**: counted while the body streams in, so a chunked body without
  ``Content-Length`` is refused with 413 as soon as it passes the cap, before more than
  one chunk beyond it is received (starlette would otherwise spool the whole file part
  to a temporary file). A declared ``Content-Length`` over the cap is refused before
  any byte is read.
* **embeddings in flight**: past ``max_embeds`` uploads being decoded, embedded or
  ranked, a new upload answers 503 with ``Retry-After``; the work in progress is
  bounded by ``max_embeds``, never by how many clients wait.
"""

from __future__ import annotations

import json
import math
import threading
from dataclasses import dataclass
from typing import Any

from footreid.core.errors import ConfigError
from footreid.serve.upload import MAX_UPLOAD_BYTES, UploadError

FORM_OVERHEAD_BYTES = 64 * 1024
RETRY_AFTER_S = 1
CLOSE = (b"connection", b"close")


@dataclass(frozen=True)
class ServeLimits:
    """The bounds of one demo server.

    Attributes:
        timeout_s: seconds a request may take, body upload included (504 beyond).
        max_embeds: uploads in flight at most (503 with ``Retry-After`` beyond); 4 keeps
            a 2-core laptop's batches small enough to answer within a second.
        max_upload_bytes: bytes of an uploaded file at most (413 beyond); the request
            body may exceed it by ``FORM_OVERHEAD_BYTES`` of multipart framing.
    """

    timeout_s: float = 30.0
    max_embeds: int = 4
    max_upload_bytes: int = MAX_UPLOAD_BYTES

    def __post_init__(self) -> None:
        if not (math.isfinite(self.timeout_s) and self.timeout_s > 0):
            raise ConfigError(f"request timeout must be > 0 seconds, got {self.timeout_s}")
        if self.max_embeds < 1:
            raise ConfigError(f"uploads in flight must be >= 1, got {self.max_embeds}")
        if not 0 < self.max_upload_bytes <= MAX_UPLOAD_BYTES:
            raise ConfigError(
                f"upload limit must be 1 byte to {MAX_UPLOAD_BYTES // 2**20} MB, "
                f"got {self.max_upload_bytes} bytes"
            )

    @property
    def max_body_bytes(self) -> int:
        """Bytes of a whole request body at most (the file plus multipart framing)."""
        return self.max_upload_bytes + FORM_OVERHEAD_BYTES

    def upload_mb(self) -> str:
        """The upload limit for messages ("10 MB", "0.5 MB")."""
        return f"{self.max_upload_bytes / 2**20:g} MB"


class InFlight:
    """A non-blocking counter of uploads in flight: :meth:`enter` refuses past ``limit``."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.count = 0
        self.refused = 0
        self._lock = threading.Lock()

    def check(self) -> None:
        """Raise ``UploadError(503)`` with ``Retry-After`` if every slot is taken now."""
        with self._lock:
            if self.count >= self.limit:
                self._refuse()

    def enter(self) -> None:
        """Take a slot or raise ``UploadError(503)`` with ``Retry-After`` at once."""
        with self._lock:
            if self.count >= self.limit:
                self._refuse()
            self.count += 1

    def _refuse(self) -> None:
        self.refused += 1
        raise UploadError(
            503,
            f"the demo is busy: {self.limit} uploads are being searched already; "
            f"try again in {RETRY_AFTER_S} s",
            retry_after=RETRY_AFTER_S,
        )

    def leave(self) -> None:
        with self._lock:
            self.count -= 1


class LimitsMiddleware:
    """ASGI middleware: the request timeout and the streamed body cap of ``limits``.

    Args:
        app: the ASGI app to wrap (the FastAPI app).
        limits: the bounds to apply.
    """

    def __init__(self, app: Any, limits: ServeLimits) -> None:
        self.app, self.limits = app, limits

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        import anyio

        declared = _content_length(scope)
        if declared is not None and declared > self.limits.max_body_bytes:
            detail = self._too_large(f"declares {declared / 2**20:.1f} MB")
            await _answer(send, 413, detail, {"Connection": "close"})
            return
        started, received, over = False, 0, False

        async def counted_receive() -> dict:
            nonlocal received, over
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limits.max_body_bytes:
                    over = True
                    raise UploadError(413, self._too_large("passed the limit while streaming in"))
            return message

        async def watched_send(message: dict) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                if over:  # close the connection: the server would otherwise drain the rest
                    message = {**message, "headers": [*message["headers"], CLOSE]}
            await send(message)

        with anyio.move_on_after(self.limits.timeout_s) as scope_timer:
            await self.app(scope, counted_receive, watched_send)
        if scope_timer.cancelled_caught and not started:
            detail = (
                f"the request took longer than the demo's limit of {self.limits.timeout_s:g} s "
                "(footreid serve --request-timeout); try again or send a smaller upload"
            )
            await _answer(send, 504, detail, {"Connection": "close"})  # unread body: drop it

    def _too_large(self, what: str) -> str:
        return (
            f"the upload {what}; the limit is {self.limits.upload_mb()} "
            "(footreid serve --max-upload-mb)"
        )


def _content_length(scope: dict) -> int | None:
    """The declared ``Content-Length`` (None when absent or not a number)."""
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None


async def _answer(send: Any, status: int, detail: str, headers: dict | None = None) -> None:
    """Send a whole JSON ``{"detail": ...}`` response (the app's error shape)."""
    body = json.dumps({"detail": detail}).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(k.encode(), str(v).encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})
