"""The chart values both stand-ups install or render, and the series this repo cannot produce.

One place, so the kind cluster and the twin run the same release with the same values.
"""

from __future__ import annotations

# ci/ values files (relative to the chart) for the suite's release; same for kind and the twin.
VALUES_FILES = ["ci/monitoring-values.yaml"]
# Scrape every 2 s instead of the chart's production interval, so a test waits seconds, not
# minutes; the scrape config still comes from the rendered ServiceMonitor.
FAST_SCRAPE = {"metrics.serviceMonitor.interval": "2s"}
SOFT = dict(FAST_SCRAPE)
HARD = {**FAST_SCRAPE, "health.cacheCriticalForReadiness": True}
# The value `helm upgrade` changes for the rollout scenario (a pod-template annotation).
UPGRADE = {**FAST_SCRAPE, "podAnnotations": {"wazen.example/rollout": "2"}}
RULE_INTERVAL = "2s"  # rule groups evaluated as often as the target is scraped

# Dashboard series that cannot exist where no Kubernetes API runs, each with the reason. On
# kind they exist only if kube-state-metrics is installed (the suite does not install it).
KUBE_STATE_METRICS = "kube-state-metrics exports it from the Kubernetes API; the twin has none"
CADVISOR = "the kubelet's cAdvisor exports it per container; the twin has no kubelet"
NOT_ON_TWIN = {
    "kube_": KUBE_STATE_METRICS,
    "container_cpu_": CADVISOR,
    "container_memory_": CADVISOR,
}
