import streamlit as st

st.set_page_config(page_title="How small networks read handwriting", page_icon="✍️", layout="wide")

st.navigation([
    st.Page("pages/home.py", title="Home", icon="🏠", default=True),
]).run()
