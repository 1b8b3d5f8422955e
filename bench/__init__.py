"""Speed and sensitivity of the oracle's gradient checks against the standard checkers.

Run ``python -m bench.run`` (or ``python bench/run.py``) from the project root; see
``bench/README.md``.  A script, not a test: nothing here is collected by pytest.
"""
