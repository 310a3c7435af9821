"""The demo and the report in a real headless browser (Debian's Chromium via Playwright).

``footreid serve`` runs as a subprocess on a free loopback port; the test picks a query,
checks the ranked gallery holds crops of that query's action only, compares two methods
and uploads a crop. Chromium comes from the system (``apt-get install -y chromium``),
never from ``playwright install``. Set ``FOOTREID_SCREENSHOTS=<dir>`` to keep screenshots.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from fake_run import build_fake_run

from footreid.core.records import FeatureSet

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("fastapi", reason="the demo needs the 'serve' extra")
    return build_fake_run(tmp_path_factory.mktemp("e2e"), checkpoint=True)


@pytest.fixture(scope="module")
def server(run_dir: Path) -> Iterator[str]:
    """``footreid serve RUN --port N`` in a subprocess; yields its base URL."""
    port = _free_port()
    cmd = [sys.executable, "-m", "footreid.cli.main", "serve", str(run_dir), "--port", str(port)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                pytest.fail(f"footreid serve exited with {proc.returncode}: {proc.stdout.read()}")
            try:
                if httpx.get(f"{url}/api/info", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("footreid serve did not answer within 90 s")
            time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is absent: apt-get install -y chromium (never playwright install)"
        if os.environ.get("FOOTREID_REQUIRE_BROWSER") == "1":  # CI: a skip would hide the test
            pytest.fail(reason)
        pytest.skip(reason)
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


def _screenshot(page, name: str) -> None:
    folder = os.environ.get("FOOTREID_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / name), full_page=True)


def _gallery_actions(page, selector: str) -> list[str]:
    return page.eval_on_selector_all(selector, "els => els.map(e => e.dataset.action)")


def test_demo_in_a_browser(server: str, browser, run_dir: Path) -> None:
    feats = FeatureSet.load(run_dir / "features" / "good.npz")
    page = browser.new_page(viewport={"width": 1500, "height": 1000})
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.goto(server, wait_until="networkidle")
    page.wait_for_selector("#query-list .query-item")
    assert "queries match" in page.inner_text("#query-count")

    page.check('input[name="filter"][value="wrong"]')
    page.wait_for_function(
        "() => [...document.querySelectorAll('#query-list .query-item')]"
        ".every(e => e.classList.contains('ko')) && document.querySelector('.query-item')"
    )
    query = page.locator("#query-list .query-item").first
    action = query.get_attribute("data-action")
    query.click()
    page.wait_for_selector("#ranking-a .item")
    actions = _gallery_actions(page, "#ranking-a .item")
    in_action = int(((feats.role == "gallery") & (feats.action_idx == int(action))).sum())
    assert set(actions) == {action} and len(actions) == in_action
    assert page.get_attribute("#selected", "data-action") == action
    assert page.locator("#ranking-a .item.wrong").count() > 0

    page.select_option("#method-b", "weak")
    page.wait_for_selector("#ranking-b .item")
    assert set(_gallery_actions(page, "#ranking-b .item")) == {action}
    _screenshot(page, "demo_ranking.png")

    row = int(np.flatnonzero(feats.role == "gallery")[3])
    crop = run_dir.parent / "data" / "reid" / "valid" / str(feats.path[row])
    page.set_input_files("#upload-file", str(crop))
    page.click("#upload-button")
    page.wait_for_selector("#upload-results .item")
    first = page.locator("#upload-results .item").first
    assert first.get_attribute("data-bbox") == str(int(feats.bbox_idx[row]))
    assert "cosine similarity" in page.inner_text("#upload-status")
    _screenshot(page, "demo_upload.png")

    page.set_input_files(
        "#upload-file", files=[{"name": "notes.txt", "mimeType": "text/plain", "buffer": b"hi"}]
    )
    page.click("#upload-button")
    page.wait_for_function(
        "document.querySelector('#upload-status').textContent.includes('refused')"
    )
    assert "not an image" in page.inner_text("#upload-status")
    assert not [p for p in problems if "415" not in p], problems  # only the refused upload


def test_report_page_renders_every_figure(browser, run_dir: Path, tmp_path: Path) -> None:
    from footreid.report import build_report

    page_file = build_report(run_dir, tmp_path / "report", examples=3)
    alone = tmp_path / "alone" / "index.html"  # self-contained: works without its folder
    alone.parent.mkdir()
    alone.write_text(page_file.read_text())
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(alone.as_uri(), wait_until="load")
    widths = page.eval_on_selector_all("img", "els => els.map(e => e.naturalWidth)")
    assert len(widths) >= 6 and min(widths) > 100
    assert "Error analysis" in page.inner_text("body")
    _screenshot(page, "report.png")
