"""Shared by the kind suite (k8s-tests/kind) and its local twin (k8s-tests/stack).

Puts this directory and the two stand-ups on sys.path, so both import the one definition of
what must hold (`scenarios`), the chart readers (`chartinfo`), the kubelet-like prober
(`prober`) and their own stand-up module (`twin`, `cluster`) by name.
"""

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
for directory in (HERE, HERE / "stack", HERE / "kind"):
    if str(directory) not in sys.path:
        sys.path.insert(0, str(directory))
