"""The chart values both stand-ups install or render, and the series this repo cannot produce.

One place, so the kind cluster and the twin run the same release with the same values.
"""

from __future__ import annotations

# Scrape every 3 s instead of the chart's production interval, so a test waits seconds, not
# minutes; the scrape config still comes from the rendered ServiceMonitor.
FAST_SCRAPE = {
    "monitoring.serviceMonitor.interval": "3s",
    "monitoring.serviceMonitor.scrapeTimeout": "2s",
}
MONITORING = "ci/monitoring-values.yaml"
# (ci/ values files relative to the chart, --set-json values): the releases the suites run.
SOFT = ([MONITORING], FAST_SCRAPE)  # default soft readiness
HARD = ([MONITORING, "ci/hard-readiness-values.yaml"], FAST_SCRAPE)
# What `helm upgrade` changes for the rollout scenario: a pod-template annotation.
UPGRADE = ([MONITORING], {**FAST_SCRAPE, "podAnnotations": {"wazen.example/rollout": "2"}})
# One extra pod whose LLM provider cannot be reached (a closed loopback port): its apologies feed
# the LLM-error panels with real provider failures.
LLM_DOWN = (
    [MONITORING],
    {
        **FAST_SCRAPE,
        "llm.provider": "openai",
        "llm.openai.baseUrl": "http://127.0.0.1:9/v1",
        "llm.openai.apiKey": "sk-test-unreachable-endpoint",
        "llm.openai.maxRetries": 0,
        "llm.openai.timeout": 2,
        # Its fifth reply of the day is over quota: a real 429 for the throttling panel.
        "rateLimits.repliesPerKeyPerDay": 4,
    },
)
RULE_INTERVAL = "3s"  # rule groups evaluated as often as the target is scraped
# The upgrade scenario's second release (kind/test_upgrade_from_previous.py; its values are
# checked against the previous chart by stack/test_k8s_suite_config.py): two replicas (a rollout
# can keep one serving), no volumes (nothing left after uninstall).
PREVIOUS_RELEASE = "wazen-prev"
PREVIOUS_VALUES = {
    "replicaCount": 2,
    "postgresql.persistence.enabled": False,
    "redis.persistence.enabled": False,
}

# Dashboard series that cannot exist where no Kubernetes API runs, each with the reason. On
# kind they exist only if kube-state-metrics is installed (the suite does not install it).
KUBE_STATE_METRICS = "kube-state-metrics exports it from the Kubernetes API; the twin has none"
CADVISOR = "the kubelet's cAdvisor exports it per container; the twin has no kubelet"
NOT_ON_TWIN = {
    "kube_": KUBE_STATE_METRICS,
    "container_cpu_": CADVISOR,
    "container_memory_": CADVISOR,
}
