"""Shared by the kind suite (k8s-tests/kind) and its local twin (k8s-tests/stack).

Puts this directory and the two stand-ups on sys.path, so both import the one definition of
what must hold (`scenarios`), the chart readers (`chartinfo`), the kubelet-like prober
(`prober`) and their own stand-up module (`twin`, `cluster`) by name.
"""

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
# Appended, not prepended: other suites import their own `conftest` helpers by name, and their
# directories must stay ahead of these (which hold conftest.py files too).
for directory in (HERE, HERE / "stack", HERE / "kind"):
    if str(directory) not in sys.path:
        sys.path.append(str(directory))


def pytest_configure(config) -> None:
    import clients

    clients._pytest_config = config
