"""`make audit`: pip-audit over the hashed locks, with an explicit verdict when it cannot run.

pip-audit needs an advisory database (PyPI's JSON API or OSV) over the network. When none
answers, this prints `SKIPPED: no advisory database reachable (…)` and exits 3, so neither a
person nor CI can mistake "not checked" for "no known vulnerabilities"; AUDIT_OFFLINE_OK=1 turns
that exit into 0 (the message stays). Vulnerabilities found: pip-audit's report, exit 1.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import urllib.error
import urllib.request

SKIPPED_EXIT = 3
# One known package per service: a database that answers this answers the audit.
PROBES = {
    "pypi": "https://pypi.org/pypi/pip/json",
    "osv": "https://api.osv.dev/v1/query",
}


def advisory_database_reachable(service: str, timeout: float = 10.0) -> str | None:
    """None when the service answers; otherwise why not (for the SKIPPED line)."""
    url = os.environ.get("AUDIT_PROBE_URL") or PROBES[service]  # tests point it elsewhere
    data = b'{"package": {"name": "pip", "ecosystem": "PyPI"}}' if service == "osv" else None
    try:
        request = urllib.request.Request(url, data=data)
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = response.read(200_000)
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        return f"{url}: {exc}"
    if service == "pypi" and b'"vulnerabilities"' not in body:
        return f"{url}: answers without vulnerability data (a mirror or proxy?)"
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pip-audit", default="pip-audit")
    parser.add_argument("--service", choices=sorted(PROBES), default="pypi")
    parser.add_argument("locks", nargs="+")
    args = parser.parse_args()
    why = advisory_database_reachable(args.service)
    if why is not None:
        print(f"SKIPPED: no advisory database reachable ({why}); nothing was audited.")
        if os.environ.get("AUDIT_OFFLINE_OK") == "1":
            return 0
        return SKIPPED_EXIT
    status = 0
    for lock in args.locks:
        print(f"pip-audit ({args.service}): {lock}", flush=True)
        cmd = [
            args.pip_audit,
            "--strict",
            "--progress-spinner",
            "off",
            "--vulnerability-service",
            args.service,
            "--require-hashes",
            "--disable-pip",
            "-r",
            lock,
        ]
        status = max(status, subprocess.run(cmd, check=False).returncode)
    return status


if __name__ == "__main__":
    sys.exit(main())
