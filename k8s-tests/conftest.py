"""Shared by the kind suite (k8s-tests/kind) and its local twin (k8s-tests/stack).

Both import the one definition of what must hold (`testsupport.k8s.scenarios`), the chart
readers (`chartinfo`), the kubelet-like prober (`prober`) and their own stand-up module
(`twin`, `cluster`) from the installed testsupport package.
"""

from testsupport.k8s import clients


def pytest_configure(config) -> None:
    clients._pytest_config = config
