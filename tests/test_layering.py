"""registry/ is the domain core: importing it must not import the UI or any cloud SDK
(harlequin-style check, in a fresh interpreter so other tests' imports don't mask it)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = ("textual", "docker", "boto3", "botocore", "google")

CHECK = """
import importlib, json, pathlib, sys
modules = ["registry.store", "registry.models", "registry.fingerprint", "registry.component",
           "registry.plan_types"]
modules += sorted("registry." + p.stem for p in pathlib.Path("registry").glob("*.py") if p.stem != "__init__")
for name in modules:
    importlib.import_module(name)
forbidden = %r
leaked = sorted(m for m in sys.modules if m.split(".")[0] in forbidden)
print(json.dumps({"modules": modules, "leaked": leaked}))
"""


def test_registry_imports_no_ui_and_no_cloud_sdk():
    result = subprocess.run([sys.executable, "-c", CHECK % (FORBIDDEN,)], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert "registry.store" in report["modules"] and len(report["modules"]) >= 5
    assert report["leaked"] == [], f"registry/ imported {report['leaked']}"
