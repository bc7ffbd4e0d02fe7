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
import functions_tui.registry as package
modules = ["functions_tui.registry." + n for n in ("store", "models", "fingerprint", "component", "plan_types")]
modules += sorted("functions_tui.registry." + p.stem for p in pathlib.Path(package.__path__[0]).glob("*.py")
                  if p.stem != "__init__")
for name in modules:
    importlib.import_module(name)
forbidden = %r
leaked = sorted(m for m in sys.modules if m.split(".")[0] in forbidden)
print(json.dumps({"modules": modules, "leaked": leaked}))
"""


def test_registry_imports_no_ui_and_no_cloud_sdk(tmp_path):
    result = subprocess.run([sys.executable, "-c", CHECK % (FORBIDDEN,)], cwd=tmp_path,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert "functions_tui.registry.store" in report["modules"] and len(report["modules"]) >= 5
    assert report["leaked"] == [], f"registry/ imported {report['leaked']}"


SCREENS_CHECK = """
import importlib, json, pathlib, sys
import functions_tui.screens as package
modules = sorted("functions_tui.screens." + p.stem for p in pathlib.Path(package.__path__[0]).glob("*.py")
                 if p.stem != "__init__")
for name in modules:
    importlib.import_module(name)
leaked = sorted(m for m in sys.modules
                if m.split(".")[0] in %r or m.startswith(("functions_tui.app", "functions_tui.components")))
print(json.dumps({"modules": modules, "leaked": leaked}))
"""


def test_screens_import_neither_app_nor_any_cloud_sdk(tmp_path):
    """Screens render and post messages; what they ask of the service is typed in
    screens/service_protocol.py. Checked twice: importing every screen in a fresh interpreter,
    and every import statement in screens/ (a lazy import inside a function included)."""
    import ast

    result = subprocess.run([sys.executable, "-c", SCREENS_CHECK % (("docker", "boto3", "botocore", "google"),)],
                            cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert "functions_tui.screens.conflict_screen" in report["modules"] and report["leaked"] == []

    offending = []
    for path in sorted((ROOT / "screens").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            offending += [f"{path.name}:{node.lineno} {n}" for n in names if n.startswith(("functions_tui.app", "functions_tui.components"))]
    assert offending == []
