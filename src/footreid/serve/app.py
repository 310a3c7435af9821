"""``footreid serve RUN_DIR``: a FastAPI app and a small static page to explore a run.

Why FastAPI + a static page rather than Gradio: FastAPI (with uvicorn) is a few small
pure-Python packages where Gradio pulls a large front-end bundle and dozens of
dependencies; the JSON API is tested in-process with ``TestClient`` (httpx) in
milliseconds and by a real headless browser; and we keep full control of what is served:
crops only by ``(role, bbox_idx)`` of the run's features file, resolved inside the
dataset's split folder, never from a path a client sends.

Endpoints (JSON unless said): ``GET /`` the page, ``/static/*`` its script and style;
``GET /api/info``; ``GET /api/actions``; ``GET /api/queries`` (method, filter, search,
action, offset, limit); ``GET /api/rank`` (method, query, k: the query's own action
only); ``GET /api/image/{query|gallery}/{bbox_idx}`` (PNG/JPEG); ``POST /api/search``
(multipart ``file``; model, k). Errors answer ``{"detail": message}`` with a 4xx code
(503 when no checkpoint can embed uploads or too many uploads are in flight, with
``Retry-After`` when trying again can help; 504 past the request timeout: see
``footreid.serve.limits``); the server keeps serving.

No ``from __future__ import annotations`` in this module: FastAPI reads the route
signatures, and the lazily imported ``Request`` must be a class there, not a string.
"""

import asyncio
import time
from pathlib import Path
from typing import Any

from footreid.core.errors import FootreidError, MissingDependencyError
from footreid.core.log import get_logger
from footreid.serve.limits import InFlight, LimitsMiddleware, ServeLimits
from footreid.serve.search import IMAGE_SUFFIXES, NotFound, RunIndex
from footreid.serve.upload import UploadError, UploadSearch, decode_upload

log = get_logger(__name__)

STATIC_DIR = Path(__file__).with_name("static")
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 7860


def _fastapi() -> Any:
    """The fastapi module, after checking python-multipart (uploads) is importable too."""
    import importlib.util

    try:
        import fastapi
    except ImportError:
        raise MissingDependencyError("fastapi", "serve") from None
    # python-multipart >= 0.0.13 is imported as python_multipart, older ones as multipart
    if not any(importlib.util.find_spec(m) for m in ("python_multipart", "multipart")):
        raise MissingDependencyError("python-multipart", "serve")
    return fastapi


def create_app(run_dir: str | Path, warm: bool = True, limits: ServeLimits | None = None) -> Any:
    """Build the demo app of a run.

    Args:
        run_dir: a run directory written by ``footreid experiment``.
        warm: rebuild the best method and load the upload model now (errors surface at
            start, the first page and the first uploads are fast).
        limits: request timeout, upload size and uploads in flight (defaults if None).

    Returns:
        A ``fastapi.FastAPI`` application.
    """
    fastapi = _fastapi()
    from fastapi.responses import FileResponse
    from fastapi.staticfiles import StaticFiles

    index = RunIndex(run_dir)
    uploads = UploadSearch({m.name: m.checkpoint for m in index.models}, index.features)
    if warm:
        index.view(index.best_method)
        uploads.warm()
    limits = limits or ServeLimits()
    app = fastapi.FastAPI(title="footreid demo", docs_url=None, redoc_url=None)
    app.state.index, app.state.uploads, app.state.limits = index, uploads, limits
    app.state.in_flight = InFlight(limits.max_embeds)
    app.add_middleware(LimitsMiddleware, limits=limits)
    _error_handlers(app)

    @app.get("/", include_in_schema=False)
    def page() -> Any:
        return FileResponse(STATIC_DIR / "index.html", media_type="text/html")

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    _browse_routes(app, index, uploads)
    _upload_route(app, index, uploads)
    return app


def _error_handlers(app: Any) -> None:
    """Every error answers ``{"detail": message}``; a bad parameter is named in it."""
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse

    @app.exception_handler(FootreidError)
    async def _error(request: Any, exc: FootreidError) -> Any:
        headers = None
        if isinstance(exc, UploadError):
            status = exc.status
            if exc.retry_after is not None:  # busy: the bound at work, not a fault to log
                headers = {"Retry-After": str(exc.retry_after)}
        else:
            status = 404 if isinstance(exc, NotFound) else 500
        if status >= 500 and headers is None:
            log.warning("demo: %s %s -> %d %s", request.method, request.url.path, status, exc)
        return JSONResponse({"detail": str(exc)}, status_code=status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Any, exc: RequestValidationError) -> Any:
        problems = [_validation_problem(e) for e in exc.errors()]
        return JSONResponse({"detail": "; ".join(problems), "errors": problems}, 422)


def _validation_problem(error: dict[str, Any]) -> str:
    """One readable line of a FastAPI validation error: where, which parameter, what."""
    loc = [str(p) for p in error.get("loc", ())]
    where, name = (loc[0], ".".join(loc[1:])) if len(loc) > 1 else ("request", "".join(loc))
    return f"{where} parameter '{name}': {error.get('msg', 'invalid value')}"


def _browse_routes(app: Any, index: RunIndex, uploads: UploadSearch) -> None:
    from fastapi import Query
    from fastapi.responses import FileResponse

    @app.get("/api/info")
    def info() -> dict[str, Any]:
        return {
            "run": index.root.resolve().name,
            # the dataset folder's name only: its absolute path is the machine's business
            "dataset": index.dataset_root.resolve().name,
            "split": index.split,
            "methods": index.method_list(),
            "best_method": index.best_method,
            "models": uploads.models(),
            "upload_model": uploads.default_model(),
            "num_queries": int(len(index.query_rows)),
            "num_actions": len(index.actions()),
            "max_upload_bytes": app.state.limits.max_upload_bytes,
        }

    @app.get("/api/actions")
    def actions() -> list[dict[str, int]]:
        return index.actions()

    @app.get("/api/queries")
    def queries(
        method: str | None = None,
        filter: str = Query("all", pattern="^(all|correct|wrong)$"),
        search: str = Query("", max_length=100),
        action: int | None = None,
        offset: int = Query(0, ge=0),
        limit: int = Query(60, ge=1, le=500),
    ) -> dict[str, Any]:
        slug = method or index.best_method
        return index.queries(slug, filter, search, action, offset, limit)  # type: ignore[arg-type]

    @app.get("/api/rank")
    def rank(query: int, method: str | None = None, k: int | None = Query(None, ge=1, le=500)):
        return index.ranking(method or index.best_method, query, k)

    @app.get("/api/image/{role}/{bbox_idx}")
    def image(role: str, bbox_idx: int) -> Any:
        path = index.image_path(role, bbox_idx)
        return FileResponse(
            path,
            media_type=IMAGE_SUFFIXES[path.suffix.lower()],
            headers={"Cache-Control": "max-age=3600", "X-Content-Type-Options": "nosniff"},
        )


def _upload_route(app: Any, index: RunIndex, uploads: UploadSearch) -> None:
    from fastapi import Query, Request
    from starlette.concurrency import run_in_threadpool

    limits: ServeLimits = app.state.limits
    in_flight: InFlight = app.state.in_flight

    @app.post("/api/search")
    async def search(
        request: Request, model: str | None = None, k: int = Query(12, ge=1, le=100)
    ) -> dict[str, Any]:
        in_flight.check()  # refuse a busy server's upload before reading its body
        data, content_type = await _read_upload(request, limits)
        in_flight.enter()
        try:
            start = time.perf_counter()
            # decoding, resizing and the gallery search run in worker threads and the
            # embedding in the batcher's thread: the event loop only awaits
            image = await run_in_threadpool(decode_upload, data, content_type)
            name, searcher, pixels = await run_in_threadpool(uploads.prepare, image, model)
            # cancelling this await (timeout, client gone) cancels a crop not yet embedded
            query = await asyncio.wrap_future(uploads.submit(searcher, pixels))
            found = await run_in_threadpool(uploads.rank, name, searcher, query, k)
        finally:
            in_flight.leave()
        items = [
            {**index.crop("gallery", b), "rank": r, "score": s}
            for r, (b, s) in enumerate(zip(found["bbox_idx"], found["scores"], strict=True), 1)
        ]
        return {
            "model": found["model"],
            "backend": found["backend"],
            "elapsed_ms": round(1000 * (time.perf_counter() - start), 1),
            "upload": {"width": image.width, "height": image.height},
            "items": items,
        }


async def _read_upload(request: Any, limits: ServeLimits) -> tuple[bytes, str | None]:
    """The bytes and declared type of the form's ``file`` (the body cap is streamed:
    :class:`footreid.serve.limits.LimitsMiddleware` stops a body past it)."""
    from starlette.datastructures import UploadFile

    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise UploadError(415, "send the crop as multipart/form-data in a field named 'file'")
    try:
        async with request.form(max_files=1, max_fields=4) as form:
            upload = form.get("file")
            if not isinstance(upload, UploadFile):
                raise UploadError(400, "no file in the form: send it in a field named 'file'")
            data = await upload.read(limits.max_upload_bytes + 1)
            content_type = upload.content_type
    except UploadError:
        raise
    except Exception as exc:  # malformed multipart bodies raise several types
        raise UploadError(400, f"cannot read the upload form ({exc})") from None
    if len(data) > limits.max_upload_bytes:
        raise UploadError(413, f"the file is over the limit of {limits.upload_mb()}")
    return data, content_type


def serve(
    run_dir: str | Path,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    limits: ServeLimits | None = None,
) -> None:
    """Run the demo with uvicorn until interrupted (binds ``127.0.0.1`` by default)."""
    app = create_app(run_dir, limits=limits)
    try:
        import uvicorn
    except ImportError:
        raise MissingDependencyError("uvicorn", "serve") from None
    log.info("demo of %s at http://%s:%d", run_dir, host, port)
    uvicorn.run(app, host=host, port=port, log_level="warning")
