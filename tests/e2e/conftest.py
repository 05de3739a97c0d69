"""The real app under `streamlit run`, driven by Debian's chromium through Playwright.
A missing browser is a failure, never a skip: `make test` installs it."""

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

ROOT = Path(__file__).resolve().parents[2]
expect.set_options(timeout=30_000)  # the first run of a page imports torch and loads a model
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


SERVERS: dict[str, subprocess.Popen] = {}  # url -> the server, for a test that kills it


@contextlib.contextmanager
def serve_app(folder: Path):
    """`streamlit run` on a free port, with its runs under ``folder``; yields its URL. The app
    must log no traceback while it serves."""
    port = free_port()
    log = open(folder / "streamlit.log", "w+")
    started = time.monotonic()
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "streamlit_app.py", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true"],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        env={**os.environ, "MNISTCORE_RUNS": str(folder / "runs")})
    url = f"http://127.0.0.1:{port}"
    try:
        while True:
            try:
                if urllib.request.urlopen(f"{url}/_stcore/health", timeout=1).read() == b"ok":
                    break
            except OSError:
                pass
            if server.poll() is not None or time.monotonic() - started > 60:
                log.seek(0)
                pytest.fail(f"streamlit did not start:\n{log.read()}")
            time.sleep(0.2)
        SERVERS[url] = server
        yield url
    finally:
        SERVERS.pop(url, None)
        server.terminate()
        server.wait(timeout=10)
        log.seek(0)
        text = log.read()
        assert "Traceback" not in text, f"the app logged a traceback:\n{text}"


@pytest.fixture(scope="session")
def app_url(tmp_path_factory):
    with serve_app(tmp_path_factory.mktemp("app")) as url:
        yield url


@pytest.fixture(scope="session")
def browser():
    executable = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(executable).exists():
        pytest.fail("Debian's chromium is missing: run `make test` (it installs it) or apt-get install chromium")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, app_url):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(30_000)
    yield page
    context.close()
