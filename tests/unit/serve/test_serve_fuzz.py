"""Fuzzing the demo's HTTP surface: every query and path parameter and the upload.

Property: whatever a client sends, the answer is the right result or a 4xx whose JSON
``detail`` names the parameter or the problem (503 only for a model without a
checkpoint); never a 500 (the in-process client re-raises any unhandled exception), a
504 (the app's timeout is 5 s, so a hang fails) or a traceback. Uploads cover random
bytes, truncated and corrupted images of every format, headers declaring huge
dimensions, wrong or odd content types and form field names. Example counts are bounded
so the file runs in about 30 s; ``--hypothesis-show-statistics`` prints how many inputs
each property tried and how many got each status.
"""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from PIL import Image

from footreid.serve.limits import ServeLimits

FUZZ = settings(
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
WITHOUT_CHECKPOINT = {"good", "weak"}  # models of the fake run that cannot embed uploads
KNOWN_MODELS = WITHOUT_CHECKPOINT | {"osnet"}
printable = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=40)
ascii_text = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=40)
# what a query string can carry: numbers of any size, text, the empty string, good values
values = st.one_of(
    st.integers(-(10**30), 10**30).map(str),
    st.integers(-5, 600).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    printable,
    st.sampled_from(["", "all", "wrong", "correct", "good", "osnet", "0", "1", "-1", "1e3"]),
)


@pytest.fixture(scope="module")
def fuzz_client(served_run: Path):
    from fastapi.testclient import TestClient

    from footreid.serve import create_app

    app = create_app(served_run, limits=ServeLimits(timeout_s=5.0))
    with TestClient(app) as client:
        yield client


def _check_error(response, sent: dict) -> None:
    """A 4xx answer: JSON with a non-empty message; a 422 names a parameter that was sent
    (or a required one that was not)."""
    event(f"status {response.status_code}")
    assert 400 <= response.status_code < 500 or response.status_code == 503, response.text
    detail = response.json()["detail"]
    assert isinstance(detail, str) and detail
    if response.status_code == 422:
        assert any(f"'{name}'" in detail for name in [*sent, "query"]), detail


@FUZZ
@given(
    endpoint=st.sampled_from(["/api/queries", "/api/rank", "/api/info", "/api/actions"]),
    params=st.dictionaries(
        st.sampled_from(
            ["method", "filter", "search", "action", "offset", "limit", "query", "k", "other"]
        ),
        values,
        max_size=5,
    ),
)
def test_any_query_parameters_get_a_result_or_a_named_4xx(fuzz_client, endpoint, params) -> None:
    response = fuzz_client.get(endpoint, params=params)
    if response.status_code != 200:
        _check_error(response, params)
        return
    event("status 200")
    if endpoint == "/api/queries":
        assert len(response.json()["items"]) <= int(params.get("limit", 60))
    if endpoint == "/api/rank":
        assert len(response.json()["items"]) <= int(params.get("k", 10**9))


@FUZZ
@given(role=st.one_of(st.sampled_from(["query", "gallery"]), printable), bbox_idx=values)
def test_any_image_path_gets_a_crop_or_404(fuzz_client, role: str, bbox_idx: str) -> None:
    response = fuzz_client.get(f"/api/image/{quote(role, safe='')}/{quote(bbox_idx, safe='')}")
    if response.status_code == 200:
        event("status 200")
        assert response.headers["content-type"] in {"image/png", "image/jpeg"}
    else:
        _check_error(response, {"role": role, "bbox_idx": bbox_idx})


def _encoded(fmt: str, size: tuple[int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (30, 160, 60)).save(buffer, format=fmt)
    return buffer.getvalue()


def _png_header(width: int, height: int) -> bytes:
    """A PNG that declares ``width`` x ``height`` pixels and holds almost no data."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = struct.pack(">I", 13) + b"IHDR" + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    idat = zlib.compress(b"\0" * 64)
    idat_chunk = struct.pack(">I", len(idat)) + b"IDAT" + idat
    return b"\x89PNG\r\n\x1a\n" + chunk + idat_chunk + struct.pack(">I", zlib.crc32(b"IDAT" + idat))


def _bmp_header(width: int, height: int) -> bytes:
    """A 24-bit BMP that declares ``width`` x ``height`` pixels and holds 64 bytes."""
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 24, 0, 0, 2835, 2835, 0, 0)
    return b"BM" + struct.pack("<IHHI", 54 + 64, 0, 0, 54) + info + b"\0" * 64


GOOD = {fmt: _encoded(fmt, (32, 64)) for fmt in ("PNG", "JPEG", "BMP", "WEBP", "GIF", "TIFF")}
dims = st.integers(1, 2**31 - 1)
files = st.one_of(
    st.binary(max_size=2048),
    st.builds(lambda d, n: d[:n], st.sampled_from(list(GOOD.values())), st.integers(0, 400)),
    st.builds(
        lambda d, i, b: d[:i] + bytes([b]) + d[i + 1 :],
        st.sampled_from(list(GOOD.values())),
        st.integers(0, 300),
        st.integers(0, 255),
    ),
    st.builds(_png_header, dims, dims),
    st.builds(_bmp_header, st.integers(-(2**31), 2**31 - 1), st.integers(-(2**31), 2**31 - 1)),
    st.sampled_from(list(GOOD.values())),
)
content_types = st.one_of(
    st.just("image/png"),
    st.just("image/jpeg"),
    st.sampled_from(["image/png", "image/jpeg", "application/octet-stream", "text/plain",
                     "application/json", "image/svg+xml", "multipart/form-data", ""]),
    printable,
)  # fmt: skip


@FUZZ
@given(
    data=files,
    content_type=content_types,
    filename=printable,
    field=st.sampled_from(["file", "file", "file", "upload", ""]),
    params=st.one_of(
        st.just({}),  # most uploads keep valid parameters, so the file itself is checked
        st.fixed_dictionaries({"k": st.integers(1, 100).map(str)}),
        st.dictionaries(st.sampled_from(["model", "k"]), values, max_size=2),
    ),
)
def test_any_upload_gets_a_search_or_a_named_4xx(
    fuzz_client, data: bytes, content_type: str, filename: str, field: str, params: dict
) -> None:
    form = {field: (filename or "crop", data, content_type or None)}
    response = fuzz_client.post("/api/search", params=params, files=form)
    if response.status_code == 200:
        event("status 200")
        body = response.json()
        assert 1 <= len(body["items"]) <= int(params.get("k", 12))
        assert min(body["upload"].values()) >= 2
        return
    _check_error(response, params)
    if response.status_code == 503:
        assert params.get("model") in WITHOUT_CHECKPOINT, response.text
    if response.status_code == 404:
        assert params.get("model") not in KNOWN_MODELS, response.text


@FUZZ
@given(
    body=st.one_of(
        st.binary(max_size=1024),
        st.builds(lambda d: b"--b\r\n" + d, st.binary(max_size=512)),
        st.builds(
            lambda head, d: b"--b\r\n" + head + b"\r\n\r\n" + d + b"\r\n--b--\r\n",
            st.sampled_from([
                b'Content-Disposition: form-data; name="file"; filename="a.png"',
                b'Content-Disposition: form-data; name="file"',
                b"Content-Disposition: attachment",
                b"",
            ]),
            st.sampled_from(list(GOOD.values())) | st.binary(max_size=256),
        ),
    ),
    content_type=st.one_of(
        st.sampled_from(["multipart/form-data; boundary=b", "multipart/form-data",
                         "multipart/form-data; boundary=", "image/png", ""]),
        ascii_text.map(lambda t: "multipart/form-data; " + t),
    ),
)  # fmt: skip
def test_any_raw_body_gets_a_search_or_a_named_4xx(fuzz_client, body, content_type) -> None:
    headers = {"content-type": content_type} if content_type else {}
    response = fuzz_client.post("/api/search", content=body, headers=headers)
    event("status 200") if response.status_code == 200 else _check_error(response, {})
    if response.status_code != 200:
        assert response.status_code != 503, response.text
