"""Write pip-compile inputs from pyproject.toml: the runtime dependencies and the dev group.

`make lock` compiles them into two hashed locks: requirements.lock (what the image installs)
and requirements-dev.lock (what `make venv` installs: runtime + the dev group). pip-compile
reads extras, not PEP 735 dependency groups, hence this small step.
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path


def group(pyproject: dict, name: str) -> list[str]:
    """A dependency group with its `include-group` entries expanded (PEP 735)."""
    out: list[str] = []
    for item in pyproject["dependency-groups"][name]:
        if isinstance(item, dict):
            out += group(pyproject, item["include-group"])
        else:
            out.append(item)
    return out


def unmarked(requirements: list[str]) -> list[str]:
    """Requirements without environment markers: pip-compile resolves for the Python it runs on
    (the host's 3.11.x), and a marker such as `python_full_version < '3.11.3'` (true for the
    image's Debian 3.11.2) would drop a package the image needs. The locks pin the union."""
    return [r.split(";", 1)[0].strip() for r in requirements]


def main(pyproject_path: str, out_dir: str) -> None:
    data = tomllib.loads(Path(pyproject_path).read_text())
    runtime = unmarked(data["project"]["dependencies"])
    out = Path(out_dir)
    (out / "runtime.in").write_text("\n".join(runtime) + "\n")
    dev = list(dict.fromkeys([*runtime, *unmarked(group(data, "dev"))]))
    (out / "dev.in").write_text("\n".join(dev) + "\n")


if __name__ == "__main__":
    main(*sys.argv[1:3])
