from pathlib import Path

import pytest
from playwright.sync_api import expect
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts"


@pytest.mark.e2e
def test_app_serves_the_home_page_in_a_real_browser(page, app_url):
    page.goto(app_url)
    expect(page.get_by_role("heading", name="How small neural networks read handwriting")).to_be_visible()
    expect(page.get_by_text("Coming next")).to_be_visible()
    expect(page.get_by_text("Draw", exact=False).first).to_be_visible()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "home.png")


def test_every_page_runs_without_an_exception():
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=60).run()
    assert not at.exception
    assert "How small neural networks read handwriting" in [t.value for t in at.title]
