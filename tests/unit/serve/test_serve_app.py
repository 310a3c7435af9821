"""The demo's HTTP API through an in-process client: pages, JSON, crops, uploads, errors."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from footreid.serve.upload import MAX_UPLOAD_BYTES


def _png(size: tuple[int, int] = (24, 48)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 40)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_page_and_static_files(client) -> None:
    page = client.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert 'id="query-list"' in page.text and "/static/app.js" in page.text
    for name in ("app.js", "style.css"):
        assert client.get(f"/static/{name}").status_code == 200
    for bad in ("/static/../app.py", "/static/%2e%2e/app.py", "/static/..%2fapp.py"):
        response = client.get(bad)
        assert response.status_code == 404 and "create_app" not in response.text


def test_info_lists_methods_and_upload_models(client, served_run: Path) -> None:
    info = client.get("/api/info").json()
    assert [m["slug"] for m in info["methods"]][:3] == ["good", "weak", "osnet"]
    assert info["best_method"] in {m["slug"] for m in info["methods"]}
    assert info["upload_model"] == "osnet"
    by_name = {m["name"]: m for m in info["models"]}
    assert by_name["osnet"]["upload"] and not by_name["good"]["upload"]
    assert "no checkpoint" in by_name["good"]["reason"]
    assert info["split"] == "valid" and info["num_queries"] == 35


def test_queries_rank_and_image_endpoints(client) -> None:
    page = client.get("/api/queries", params={"filter": "wrong", "method": "weak"}).json()
    assert page["total"] > 0 and all(q["correct"] is False for q in page["items"])
    query = page["items"][0]
    ranked = client.get("/api/rank", params={"query": query["bbox_idx"], "method": "weak"}).json()
    assert {g["action_idx"] for g in ranked["items"]} == {query["action_idx"]}
    assert ranked["items"][0]["match"] is False  # a rank-1 error
    top3 = client.get("/api/rank", params={"query": query["bbox_idx"], "k": 3}).json()
    assert len(top3["items"]) == 3
    image = client.get(ranked["items"][0]["image"])
    assert image.status_code == 200 and image.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(image.content)).size[0] > 10


@pytest.mark.parametrize(
    ("path", "params", "status"),
    [
        ("/api/queries", {"method": "nope"}, 404),
        ("/api/queries", {"filter": "sometimes"}, 422),
        ("/api/queries", {"limit": 0}, 422),
        ("/api/rank", {"query": 99999}, 404),
        ("/api/rank", {"query": "abc"}, 422),
        ("/api/image/train/0", {}, 404),
        ("/api/image/gallery/99999", {}, 404),
        ("/api/image/gallery/..%2F..%2Fresults.json", {}, 404),
        ("/api/image/../../results.json", {}, 404),
    ],
)
def test_bad_requests_get_clear_errors(client, path: str, params: dict, status: int) -> None:
    response = client.get(path, params=params)
    assert response.status_code == status
    assert "detail" in response.json()


def test_upload_search_finds_the_uploaded_crop(client, served_run: Path) -> None:
    ranked = client.get("/api/rank", params={"query": 0, "method": "osnet"}).json()
    crop = client.get(ranked["items"][0]["image"]).content
    found = client.post(
        "/api/search", params={"k": 5}, files={"file": ("crop.png", crop, "image/png")}
    )
    assert found.status_code == 200, found.text
    body = found.json()
    assert body["model"] == "osnet" and len(body["items"]) == 5
    assert body["items"][0]["bbox_idx"] == ranked["items"][0]["bbox_idx"]
    assert body["items"][0]["score"] == pytest.approx(1.0, abs=1e-4)
    assert body["backend"] in {"faiss", "numpy"}


@pytest.mark.parametrize(
    ("files", "status", "message"),
    [
        ({"file": ("e.png", b"", "image/png")}, 400, "empty"),
        ({"file": ("t.txt", b"just text", "text/plain")}, 415, "not an image"),
        ({"file": ("x.png", b"garbage bytes", "image/png")}, 400, "not a readable image"),
        ({"other": ("x.png", _png(), "image/png")}, 400, "field named 'file'"),
        ({"file": ("big.png", b"0" * (MAX_UPLOAD_BYTES + 100_000), "image/png")}, 413, "10 MB"),
    ],
)
def test_bad_uploads_get_4xx_and_the_server_keeps_serving(client, files, status, message) -> None:
    response = client.post("/api/search", files=files)
    assert response.status_code == status
    assert message in response.json()["detail"]
    assert client.get("/api/info").status_code == 200


def test_upload_without_multipart_and_with_unavailable_model(client) -> None:
    raw = client.post("/api/search", content=_png(), headers={"content-type": "image/png"})
    assert raw.status_code == 415 and "multipart/form-data" in raw.json()["detail"]
    files = {"file": ("c.png", _png(), "image/png")}
    no_ckpt = client.post("/api/search", params={"model": "good"}, files=files)
    assert no_ckpt.status_code == 503 and "no checkpoint" in no_ckpt.json()["detail"]
    assert client.post("/api/search", params={"k": 0}, files=files).status_code == 422


def test_missing_dependency_names_the_extra(monkeypatch, served_run: Path) -> None:
    import builtins

    from footreid.core.errors import MissingDependencyError
    from footreid.serve import create_app

    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name == "fastapi":
            raise ImportError("No module named 'fastapi'", name="fastapi")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(MissingDependencyError, match=r"footreid\[serve\]"):
        create_app(served_run)
