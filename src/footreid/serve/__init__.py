"""Web demo of a run (``footreid serve``): FastAPI JSON API + a small static page.

``create_app(run_dir)`` builds the app; ``serve(run_dir, host, port)`` runs it with
uvicorn. fastapi, uvicorn and faiss are imported only when the app is built or run.
"""

from footreid.serve.app import DEFAULT_HOST, DEFAULT_PORT, create_app, serve
from footreid.serve.limits import ServeLimits

__all__ = ["DEFAULT_HOST", "DEFAULT_PORT", "ServeLimits", "create_app", "serve"]
