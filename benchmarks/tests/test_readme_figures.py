"""The README's bench figures are the published run's, generated, never typed."""

from __future__ import annotations

import copy
import json

from benchmarks import readme


def test_the_readme_says_what_the_published_results_say() -> None:
    results = json.loads(readme.RESULTS.read_text())
    assert readme.current(readme.README.read_text()) == readme.block(results), (
        "README.md's bench figures differ from docs/bench/results.json: "
        "python -m benchmarks.readme --write"
    )


def test_a_changed_result_changes_the_figures() -> None:
    results = json.loads(readme.RESULTS.read_text())
    changed = copy.deepcopy(results)
    changed["variants"]["ratios"]["project"]["x_seedfix"] += 0.5
    assert readme.render(changed) != readme.render(results)
