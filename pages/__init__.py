"""The app's page scripts (listed by ``streamlit_app.py`` with ``st.navigation``) and the widgets
they share.

A workaround lives here, because Streamlit offers no supported way around this: a folder named
``pages`` beside the entry script makes Streamlit run the first script of a new server
old-style, as a multipage app of the files in this folder. A first visitor who comes straight
to ``/train`` would then get ``train.py`` without the entry script: no ``st.navigation``, a
sidebar of file names. Streamlit switches the old style off for good once ``st.navigation``
has run, so the first page run that finds it still on switches it off itself and runs again,
the new way. Every page imports from this package, so this runs before any of them draws.
``tests/unit/test_streamlit_workaround.py`` fails when a Streamlit upgrade changes what this
relies on; ``tests/e2e/test_app.py`` checks the first visit itself."""

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager

if PagesManager.uses_pages_directory:
    PagesManager.uses_pages_directory = False
    st.rerun()
