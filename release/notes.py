"""Print the CHANGELOG.md section of one version (Keep a Changelog: `## [X.Y.Z] - date`)."""

from __future__ import annotations

import re
import sys
from pathlib import Path


def section(changelog: str, version: str) -> str:
    match = re.search(
        rf"^## \[{re.escape(version)}\][^\n]*\n(.*?)(?=^## \[|^\[[^\]]+\]: |\Z)",
        changelog,
        re.S | re.M,
    )
    if not match or not match.group(1).strip():
        raise SystemExit(f"CHANGELOG.md has no `## [{version}]` section: write it first")
    return f"# Wazen AI {version}\n\n{match.group(1).strip()}\n"


if __name__ == "__main__":
    print(section(Path(sys.argv[1]).read_text(), sys.argv[2]), end="")
