"""The one place the app relies on Streamlit's insides: ``pages/__init__.py`` switches off the
old-style handling of a folder named ``pages``. These fail when a Streamlit upgrade changes what
that relies on; then read the message, and check the first-visit test in tests/e2e/test_app.py."""

import inspect

from streamlit.commands import navigation
from streamlit.runtime.pages_manager import PagesManager
from streamlit.runtime.scriptrunner import script_runner

CHANGED = (
    "Streamlit changed how it treats a folder named pages/. pages/__init__.py switches "
    "PagesManager.uses_pages_directory off; see whether that is still needed (remove it, and "
    "run tests/e2e/test_app.py's first-visit test) or how to do it now."
)


def test_streamlit_still_decides_the_old_style_by_the_flag_the_app_switches_off():
    assert hasattr(PagesManager, "uses_pages_directory"), CHANGED
    runner = inspect.getsource(script_runner.ScriptRunner)
    assert "PagesManager.uses_pages_directory" in runner and "_mpa_v1(" in runner, CHANGED


def test_st_navigation_still_switches_the_old_style_off_for_good():
    assert "PagesManager.uses_pages_directory = False" in inspect.getsource(navigation.navigation), CHANGED


def test_the_old_style_still_runs_the_scripts_in_pages_without_the_entry_script():
    old_style = inspect.getsource(script_runner._mpa_v1)
    assert 'pages_folder.glob("*.py")' in old_style, CHANGED
