"""Where things are in the checkout. testsupport is installed editable (`make venv`), so its
files stay in the repository and every path is found from here."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
APP_DIR = REPO / "app"
CHART_DIR = REPO / "charts" / "wazen-ai"
TOOLS_BIN = REPO / ".tools" / "bin"
GUNICORN_CONF = REPO / "docker" / "gunicorn.conf.py"

if not (REPO / "pyproject.toml").is_file() or not APP_DIR.is_dir():
    raise ImportError(
        f"testsupport is not in a checkout of the repository ({REPO}): install it editable "
        "(make venv runs `pip install --no-deps -e .`)"
    )
