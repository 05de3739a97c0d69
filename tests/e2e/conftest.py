"""The real app under `streamlit run`, driven by Debian's chromium through Playwright.
A missing browser is a failure, never a skip: `make test` installs it."""

import pytest
from playwright.sync_api import expect, sync_playwright

from tests.e2e.browser import CHROMIUM_ARGS, Hold, chromium, serve_app

expect.set_options(timeout=30_000)  # the first run of a page imports torch and loads a model


@pytest.fixture(scope="session")
def app_folder(tmp_path_factory):
    return tmp_path_factory.mktemp("app")


@pytest.fixture(scope="session")
def app_url(app_folder):
    # One run trains at a time on any machine, so that a second run certainly waits in the queue.
    with serve_app(app_folder, {"MNISTCORE_MAX_RUNS": "1"}) as url:
        yield url


@pytest.fixture
def hold(app_folder):
    """The shared app's runs held at an epoch by the test; let go when it ends."""
    hold = Hold(app_folder)
    yield hold
    hold.release()


@pytest.fixture(scope="session")
def browser():
    if not chromium().exists():
        pytest.fail("Debian's chromium is missing: run `make test` (it installs it) or apt-get install chromium")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(chromium()), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, app_url):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(30_000)
    yield page
    context.close()
