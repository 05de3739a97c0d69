"""Speed and load, measured side by side in one run, never in timed tests. Run each from the
repository root as ``python -m benchmarks.<name>`` (``make bench`` runs the speed ones)."""
