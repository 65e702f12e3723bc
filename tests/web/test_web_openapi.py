"""Schemathesis against the real hub's OpenAPI (/api/v1/openapi.json) with a signed-in administrator's
session: no 5xx, and every response matches the documented schema.  Bounded: a few examples per
operation.  The live stream (endless by design) and sign-out (would end the session mid-run) are left out."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from web_harness import Deployment

SCHEMATHESIS = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "schemathesis"


def schemathesis() -> str:
    found = shutil.which("schemathesis") or (str(SCHEMATHESIS) if SCHEMATHESIS.exists() else None)
    if found is None:
        pytest.fail("schemathesis is not installed in .venv (pip install schemathesis)")
    return found


@pytest.mark.parametrize("who", ["admin", "city"])
def test_api_matches_its_openapi(deployment: Deployment, who: str, tmp_path: Path):
    client = deployment.signed_in(who)
    cookie = client.cookies["sw_session"]
    csrf = client.headers["X-CSRF-Token"]
    argv = [
        schemathesis(),
        "run",
        f"{deployment.hub.url}/api/v1/openapi.json",
        "--checks", "not_a_server_error,response_schema_conformance,content_type_conformance,status_code_conformance",
        "--header", f"Cookie: sw_session={cookie}",
        "--header", f"X-CSRF-Token: {csrf}",
        "--exclude-path", "/api/v1/live",
        "--exclude-path", "/api/v1/session/sign-out",
        "--max-examples", "5",
        "--phases", "examples,coverage,fuzzing",
        "--request-timeout", "10",
        "--seed", "20260517",
        "--generation-deterministic",
        "--no-color",
    ]  # fmt: skip
    done = subprocess.run(argv, capture_output=True, text=True, timeout=240, check=False, cwd=tmp_path)
    report = done.stdout + done.stderr
    (tmp_path.parent / "st-report.txt").write_text(report)
    assert done.returncode == 0, report[-6000:]
    # Still signed in: nothing in the run ended the session it was using.
    assert client.get("/api/v1/me").status_code == 200
