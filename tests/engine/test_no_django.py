"""The engine is numpy + Pillow (and its own C loops): importing it must not import Django."""

import json
import subprocess
import sys

from tests.conftest import REPO_ROOT


def test_engine_import_pulls_in_no_django():
    code = (
        "import json, sys\n"
        "import compression.engine, compression.engine.pipeline, compression.engine.__main__\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('django'))))\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout) == []
    # The check itself must be able to fail: importing Django shows up the same way.
    control = subprocess.run(
        [sys.executable, "-c", "import sys, django; print([m for m in sys.modules if m.startswith('django')])"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=60,
    )
    assert "django" in control.stdout
