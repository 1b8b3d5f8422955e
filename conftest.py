"""Hypothesis profiles for the project's own suite, chosen with ``HYPOTHESIS_PROFILE``.

* ``dev`` (the default): 30 examples per property, for a quick local run.
* ``ci``: Hypothesis's built-in ``ci`` profile (derandomized, no example database,
  ``too_slow`` suppressed by Hypothesis itself) with our deadline policy.  It is
  also what runs when the ``CI`` environment variable is set and
  ``HYPOTHESIS_PROFILE`` is not, as Hypothesis does on its own.
* ``thorough``: 2000 examples per property, for certifying the reference.

No profile has a deadline: several properties run finite differences or
``scipy.differentiate`` per example, which take tens of milliseconds on a loaded
machine, and a timing-dependent failure is a flaky failure.  No health check is
suppressed here beyond what the built-in ``ci`` profile already suppresses.

The active profile is printed in the pytest header.  ``--hypothesis-profile``
takes precedence over the environment variable.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import settings

settings.register_profile("dev", max_examples=30, deadline=None)
try:
    _builtin_ci = settings.get_profile("ci")
except Exception:  # Hypothesis < 6.103 has no built-in "ci" profile: the same settings by hand
    from hypothesis import HealthCheck

    _builtin_ci = settings(
        derandomize=True, database=None, print_blob=True,
        suppress_health_check=[HealthCheck.too_slow],
    )
settings.register_profile("ci", parent=_builtin_ci, deadline=None)
settings.register_profile("thorough", max_examples=2000, deadline=None)

PROFILES = ("dev", "ci", "thorough")
PROFILE = os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev")


def pytest_configure(config: pytest.Config) -> None:
    # Before collection: test modules read the active settings when they are imported.
    global PROFILE
    explicit = config.getoption("hypothesis_profile", default=None)
    if explicit:  # --hypothesis-profile wins, as Hypothesis's own plugin has it
        PROFILE = explicit
    if PROFILE not in PROFILES:
        raise pytest.UsageError(
            f"HYPOTHESIS_PROFILE={PROFILE!r} is not a profile of this suite; "
            f"use one of {', '.join(PROFILES)}"
        )
    settings.load_profile(PROFILE)


def pytest_report_header(config: pytest.Config) -> str:
    s = settings()
    return (
        f"hypothesis profile: {PROFILE} (max_examples={s.max_examples}, "
        f"derandomize={s.derandomize}, deadline={s.deadline}, "
        f"database={'none' if s.database is None else 'on'}); "
        f"choose with HYPOTHESIS_PROFILE={'|'.join(PROFILES)}"
    )
