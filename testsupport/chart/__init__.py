"""The chart tests' helpers, shared with the Kubernetes suites: `render` (helm template, parsed),
`objects` (reading pods, containers and selectors out of rendered objects), `app` (the app as
the chart's pods run it, for the in-pod scripts), `fake_apiserver` (the Kubernetes API the
chart's hooks talk to) and `values_doc` (the chart README's values table)."""
