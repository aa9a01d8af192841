# The caches' property test (app/tests/cachekit/test_properties.py), longer and randomized.
# `make test` runs it derandomized with a few examples; this runs it with a fresh seed and
# PROPERTY_EXAMPLES examples of PROPERTY_STEPS steps, on SQLite then PostgreSQL like test-app.
# Included by the Makefile; uses its PY, PYTEST_ARGS and .ONESHELL bash recipes.

PROPERTY_EXAMPLES ?= 300
PROPERTY_STEPS ?= 30
PROPERTY_TESTS := app/tests/cachekit/test_properties.py

.PHONY: test-properties

test-properties: venv test-services ## Caches' property test, randomized (PROPERTY_EXAMPLES=300, PROPERTY_STEPS=30), on SQLite then PostgreSQL
	export WAZEN_PROPERTY_RANDOM=1 WAZEN_PROPERTY_EXAMPLES=$(PROPERTY_EXAMPLES) WAZEN_PROPERTY_STEPS=$(PROPERTY_STEPS)
	$(PY) -m pytest $(PROPERTY_TESTS) $(PYTEST_ARGS)
	WAZEN_TEST_DB=postgres $(PY) -m pytest $(PROPERTY_TESTS) $(PYTEST_ARGS)
