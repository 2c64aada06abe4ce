"""Known vulnerabilities in both environments' lock files, with pip-audit (installed from
requirements/test.lock). `make audit` and .ci/run run it.

Every package of requirements/test.lock (.venv) and requirements/rasa-test.lock (.venv-rasa) is looked
up, as pinned, without installing anything (`--require-hashes --disable-pip`). A vulnerability fails
the run unless its id is written down in requirements/audit-ignore.txt with the reason (one id and
its reason a line). pip-audit asks a vulnerability service: OSV first, then PyPI's JSON API. When
neither answers from this machine, the run says so plainly (NOT AUDITED) and does not fail the build:
an unreachable database is not a finding, and the network here only reaches the package registries.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCKS = {".venv": ROOT / "requirements/test.lock", ".venv-rasa": ROOT / "requirements/rasa-test.lock"}
IGNORE_FILE = ROOT / "requirements/audit-ignore.txt"
SERVICES = ("osv", "pypi")
UNREACHABLE = ("ConnectionError", "NameResolutionError", "Max retries exceeded", "timed out")


def ignored() -> dict[str, str]:
    """Vulnerability id -> the reason it is accepted; a line without a reason is an error."""
    out: dict[str, str] = {}
    for number, line in enumerate(IGNORE_FILE.read_text(encoding="utf-8").splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        vuln_id, _, reason = line.partition(" ")
        if not reason.strip():
            sys.exit(f"{IGNORE_FILE.name}:{number}: {vuln_id} has no reason; write why it is accepted")
        out[vuln_id] = reason.strip()
    return out


def audit(lock: Path, service: str, ignore: dict[str, str]) -> tuple[dict | None, str]:
    """pip-audit's JSON report of one lock file, or None and why when the service did not answer."""
    command = [
        str(ROOT / ".venv/bin/pip-audit"),
        "--requirement",
        str(lock),
        "--require-hashes",
        "--disable-pip",
        "--vulnerability-service",
        service,
        "--format",
        "json",
        "--progress-spinner",
        "off",
        "--timeout",
        "20",
    ]
    for vuln_id in ignore:
        command += ["--ignore-vuln", vuln_id]
    run = subprocess.run(command, capture_output=True, text=True)
    if any(marker in run.stderr for marker in UNREACHABLE):
        return None, "unreachable"
    try:
        report = json.loads(run.stdout)
    except json.JSONDecodeError:
        return None, f"no report (exit {run.returncode}): {run.stderr.strip()[-300:]}"
    audited = [d for d in report["dependencies"] if "skip_reason" not in d]
    if not audited:
        return None, f"answered for none of the {len(report['dependencies'])} packages"
    return report, ""


def main() -> int:
    ignore = ignored()
    failed = not_audited = False
    for env, lock in LOCKS.items():
        report, why = None, {}
        for service in SERVICES:
            report, why[service] = audit(lock, service, ignore)
            if report is not None:
                break
        if report is None:
            not_audited = True
            reasons = "; ".join(f"{s}: {w}" for s, w in why.items())
            print(
                f"pip-audit {env} ({lock.name}): NOT AUDITED, no vulnerability service answered ({reasons})"
            )
            continue
        deps = report["dependencies"]
        skipped = [d["name"] for d in deps if "skip_reason" in d]
        found = [(d["name"], d["version"], v["id"]) for d in deps for v in d.get("vulns", [])]
        print(
            f"pip-audit {env} ({lock.name}, {service}): {len(deps) - len(skipped)} packages audited, "
            f"{len(found)} known vulnerabilities not in {IGNORE_FILE.name}"
            + (f", {len(skipped)} not found by the service: {', '.join(skipped)}" if skipped else "")
        )
        for name, version, vuln_id in found:
            print(f"  {name} {version}: {vuln_id}")
        failed = failed or bool(found)
    if not_audited:
        print("pip-audit: the build is not failed for an unreachable vulnerability database")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
