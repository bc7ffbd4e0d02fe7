"""The installed package: everything under one import name, functions_tui.

The repository keeps a folder per layer (app/, screens/, components/, registry/); a wheel that
put those generic names at the top of site-packages would collide with any other package of
the same name. This builds the real wheel, checks its top-level names, and runs the command
from the unpacked wheel (not from the checkout) to show that what it holds is complete.
"""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ("app", "screens", "components", "registry")
#: ``from registry.x import``/``import app.cli`` inside a string (not what a docstring says).
CODE_IN_TEXT = re.compile(r"(?:^|[\"';]\s*)(?:from|import) (?:app|screens|components|registry)\.[a-z_.]+(?: import)?")


def test_the_wheel_installs_one_namespace_and_runs_from_it(tmp_path):
    # Built from a copy: setuptools builds in the source tree (build/, *.egg-info).
    source = tmp_path / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".git", ".venv", "build", "*.egg-info", "__pycache__", ".pytest_cache", ".hypothesis", "screenshots"))
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--disable-pip-version-check",
                            "-q", "-w", str(tmp_path / "dist"), str(source)],
                           capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stderr
    [wheel] = (tmp_path / "dist").glob("functions_tui-*.whl")
    names = zipfile.ZipFile(wheel).namelist()

    top_level = {name.split("/")[0] for name in names}
    assert {name for name in top_level if not name.endswith(".dist-info")} == {"functions_tui"}
    assert {f"functions_tui/{layer}/__init__.py" for layer in LAYERS} <= set(names)
    assert "functions_tui/screens/app.tcss" in names            # package data came along
    entry_points = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("entry_points.txt"))).decode()
    assert "functions-tui = functions_tui.app.cli:main" in entry_points

    unpacked = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(unpacked)
    # From an empty folder, with the unpacked wheel first on the path: the command answers
    # from there, and no generic top-level module of ours is imported on the way.
    code = ("import runpy, sys; sys.argv = ['functions-tui', '--help'];\n"
            "try: runpy.run_module('functions_tui.app', run_name='__main__')\n"
            "except SystemExit: pass\n"
            "import functions_tui.app.cli as cli\n"
            f"print('FILE', cli.__file__); print('GENERIC', sorted(m for m in sys.modules if m.split('.')[0] in {LAYERS!r}))")
    ran = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                         env={"PYTHONPATH": str(unpacked), "HOME": str(tmp_path), "PATH": "/usr/bin:/bin"})
    assert ran.returncode == 0, ran.stderr
    assert "usage: functions-tui" in ran.stdout
    assert f"FILE {unpacked}" in ran.stdout
    assert "GENERIC []" in ran.stdout


def test_every_import_of_our_code_names_the_namespace():
    """`from registry import …` works from a checkout (the current folder is on sys.path) and
    fails once installed: no module of ours, its tests or its benches may use the bare names."""
    sources = [path for folder in (*LAYERS, "bench", "tests") for path in sorted((ROOT / folder).rglob("*.py"))]
    sources.append(ROOT / "scripts" / "screenshots")     # Python, without the suffix
    offending = []
    for path in sources:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            elif (isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", ""))
                  in ("files", "import_module") and node.args and isinstance(node.args[0], ast.Constant)):
                names = [str(node.args[0].value)]   # resources.files("app"), import_module("registry.x")
            else:
                continue
            offending += [f"{path.relative_to(ROOT)}:{node.lineno} {name}" for name in names
                          if name.split(".")[0] in LAYERS]
        # Code handed to another interpreter as text (python -c, a test's subprocess script).
        # (bench/cli.py writes one on purpose: the shim that runs a checkout from before the
        # namespace as the baseline of a figure, and says so on that line.)
        for number, line in enumerate(path.read_text().splitlines(), 1):
            offending += [f"{path.relative_to(ROOT)}:{number} {m.group(0).strip()}"
                          for m in CODE_IN_TEXT.finditer(line) if "a checkout before the namespace" not in line]
    assert offending == []
