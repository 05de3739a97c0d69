"""mnistcore: data, models, training, checkpoints and preprocessing for the classroom app.
Importable and testable without Streamlit; the CLI and the pages call the same functions."""
