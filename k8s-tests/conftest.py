"""Shared by the kind suite (k8s-tests/kind) and its local twin (k8s-tests/stack).

Puts this directory on sys.path so both import the one definition of what must hold
(`scenarios`), the chart readers (`chartinfo`) and the kubelet-like prober (`prober`).
"""

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))
