"""Pin a copy of the chart to one release: version and appVersion, and the image by digest.

    python release/pin_chart.py CHART_DIR VERSION IMAGE_REPOSITORY sha256:…

Edits the top-level `image:` block of values.yaml in place (its comments stay), and drops the
chart's development files (Python tests) from the copy.
"""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path


def pin(chart: Path, version: str, repository: str, digest: str) -> None:
    meta = chart / "Chart.yaml"
    text = re.sub(r"(?m)^version: .*$", f"version: {version}", meta.read_text())
    meta.write_text(re.sub(r"(?m)^appVersion: .*$", f'appVersion: "{version}"', text))
    values = chart / "values.yaml"
    text = values.read_text()
    start = text.index("\nimage:\n") + 1
    end = text.index("\n\n", start)
    block = text[start:end]
    block = re.sub(r"(?m)^  repository: .*$", f"  repository: {repository}", block, count=1)
    block = re.sub(r"(?m)^  tag: .*$", f'  tag: "{version}"', block, count=1)
    block = re.sub(r"(?m)^  digest: .*$", f'  digest: "{digest}"', block, count=1)
    values.write_text(text[:start] + block + text[end:])
    shutil.rmtree(chart / "tests", ignore_errors=True)


if __name__ == "__main__":
    pin(Path(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4])
