"""What the web and export tests share: run a JavaScript module of web/js with node, or skip (fail under CI)."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def need(ok: bool, why: str) -> None:
    """Skip the test unless `ok`; under CI=true a missing tool is a failure, not a skip."""
    if not ok:
        if os.environ.get("CI"):
            raise RuntimeError(f"{why}, and CI is set: these tests must run")
        pytest.skip(why)


def node(script: str, *args) -> str:
    """Run `script` (an ES module) with node from the repository root; its stdout."""
    need(shutil.which("node") is not None, "node is not installed")
    done = subprocess.run(["node", "--input-type=module", "-e", script, *map(str, args)], capture_output=True,
                          text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    return done.stdout


def js(module: str) -> str:
    """The file URL of web/js/`module`, for an import in a node script."""
    return (ROOT / "web" / "js" / module).as_uri()
