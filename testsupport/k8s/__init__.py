"""What the kind suite (k8s-tests/kind) and its local twin (k8s-tests/stack) share: the one
definition of what must hold (`scenarios`), the chart readers (`chartinfo`), the kubelet-like
prober (`prober`), the HTTP clients (`clients`), the releases' values (`suite`) and the two
stand-ups (`cluster`: kind or an existing cluster; `twin`: processes or podman on this host)."""
