"""The one list of a function's source files (registry/packaging.py): what every upload, image
build and the code digest hold. Defaults, .gcloudignore / .functionsignore in gitignore
syntax, warnings for re-included secrets, digest stability, and ``source:`` kept inside the
declaration's folder. The uploads on the real backends: tests/test_packaging_backends.py."""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
import zipfile
from pathlib import Path

import pytest

from functions_tui.app.declarations import DeclarationError, code_digest, load_declarations
from functions_tui.components import aws, docker, gcp
from functions_tui.registry import packaging
from functions_tui.registry.models import FunctionSpec, digest_source
from functions_tui.registry.packaging import PackagingError, sensitive_warnings, source_files
from tests.cli_helpers import cli_env, one_line_error, registry_bytes, run_cli, write_yaml


def tree(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


SECRETS = {".env": "TOKEN=1", ".env.local": "TOKEN=2", "deploy/id_rsa": "-----BEGIN", "id_rsa.pub": "ssh-rsa",
           "id_ed25519": "-----BEGIN", "tls/server.pem": "-----BEGIN", "tls/server.key": "-----BEGIN"}
CODE = {"main.py": "def main(e, c):\n    return 1\n", "lib/util.py": "X = 1\n", ".envrc": "use nix\n",
        "README.md": "hi\n"}


def legacy_digest(source: Path) -> str:
    """app.declarations.code_digest before registry/packaging.py existed (issue 10)."""
    h = hashlib.sha256()
    for file in sorted(p for p in source.rglob("*") if p.is_file()):
        rel = file.relative_to(source).as_posix()
        if rel.startswith((".git/", "__pycache__/")) or "/__pycache__/" in rel or file.name in (
                "function.yaml", "functions.yaml"):
            continue
        h.update(rel.encode() + b"\0")
        h.update(file.read_bytes())
        h.update(b"\0")
    return "sha256:" + h.hexdigest()


# --- the default list -------------------------------------------------------------------------------

def test_defaults_leave_out_git_caches_secrets_and_the_declarations(tmp_path):
    src = tree(tmp_path / "src", {**CODE, **SECRETS, ".git/HEAD": "ref", "__pycache__/m.pyc": "x",
                                   "lib/__pycache__/u.pyc": "x", "function.yaml": "name: a\n",
                                   "lib/functions.yaml": "functions: []\n", ".functionsignore": "",
                                   ".gcloudignore": "", "vendor/.git/config": "x"})
    listing = source_files(src)
    assert listing.names == [".envrc", "README.md", "lib/util.py", "main.py"]
    assert listing.sensitive == {}
    assert listing.ignore_files == (".gcloudignore", ".functionsignore")


def test_the_digest_is_over_the_list_and_the_same_everywhere(tmp_path):
    src = tree(tmp_path / "src", {**CODE, **SECRETS, "function.yaml": "name: a\n"})
    expected = hashlib.sha256()
    for rel in [".envrc", "README.md", "lib/util.py", "main.py"]:
        expected.update(rel.encode() + b"\0" + (src / rel).read_bytes() + b"\0")
    assert source_files(src).digest() == digest_source(src) == code_digest(src) == "sha256:" + expected.hexdigest()


def test_digest_of_an_unchanged_folder_is_what_it_was_before(tmp_path):
    # No secret-like, ignore or nested .git files: the same files, the same order, the same digest.
    src = tree(tmp_path / "src", {"a/b/f": "1", "a-c/g": "2", "a.py": "3", "A.txt": "4", ".hidden": "5",
                                   ".git/HEAD": "6", "__pycache__/q.pyc": "7", "x/__pycache__/r.pyc": "8",
                                   "node_modules/m/i.js": "9", "function.yaml": "name: a\n"})
    (src / "link.py").symlink_to("a.py")
    assert code_digest(src) == legacy_digest(src)
    assert source_files(src).names == [".hidden", "A.txt", "a/b/f", "a-c/g", "a.py", "link.py",
                                       "node_modules/m/i.js"]


def test_changing_an_ignored_file_does_not_change_the_digest(tmp_path):
    src = tree(tmp_path / "src", {**CODE, **SECRETS, ".functionsignore": "notes/\n*.log\n",
                                   "notes/todo.txt": "a", "debug.log": "a"})
    before = digest_source(src)
    for rel in [".env", "tls/server.key", "notes/todo.txt", "debug.log", "function.yaml"]:
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        (src / rel).write_text("changed")
    (src / "notes" / "new.txt").write_text("new")
    assert digest_source(src) == before
    (src / "main.py").write_text("def main(e, c):\n    return 2\n")
    assert digest_source(src) != before


# --- ignore files -------------------------------------------------------------------------------------

def test_functionsignore_uses_gitignore_syntax(tmp_path):
    src = tree(tmp_path / "src", {**CODE, "tests/test_main.py": "", "build/out.bin": "", "build/keep.txt": "",
                                   "docs/a.md": "", "docs/keep.md": "", "data/big.csv": "", "sub/data/x.csv": "",
                                   ".functionsignore": "# comment\n\ntests/\n/data/\nbuild/\n!build/keep.txt\n"
                                                       "*.md\n!README.md\ndocs/*\n!docs/keep.md\n"})
    # build/ is excluded as a folder, so (as in git) nothing below it comes back;
    # docs/* excludes its entries, so one of them can be re-included.
    assert source_files(src).names == [".envrc", "README.md", "docs/keep.md", "lib/util.py", "main.py",
                                       "sub/data/x.csv"]


def test_gcloudignore_applies_and_functionsignore_comes_after_it(tmp_path):
    src = tree(tmp_path / "src", {**CODE, "a.txt": "", "b.txt": "", ".gitignore": "*.tmp\n", "x.tmp": "",
                                   ".gcloudignore": "a.txt\nb.txt\n#!include:.gitignore\n",
                                   ".functionsignore": "!b.txt\n"})
    names = source_files(src).names
    assert "a.txt" not in names and "x.tmp" not in names  # .gcloudignore, with gcloud's include directive
    assert "b.txt" in names and ".gitignore" in names     # .functionsignore's later ! line wins


def test_a_re_included_secret_is_in_the_list_and_warned_about(tmp_path):
    src = tree(tmp_path / "src", {**CODE, **SECRETS, ".functionsignore": "# keys we ship on purpose\n!tls/server.key\n"})
    listing = source_files(src)
    assert "tls/server.key" in listing.names and ".env" not in listing.names
    assert listing.sensitive == {"tls/server.key": ".functionsignore:2"}
    assert sensitive_warnings(listing, "hello") == [
        f"functions-tui: warning: hello: {src / 'tls/server.key'} looks like a secret (a key or .env file) and is "
        "not excluded (re-included by .functionsignore:2): it goes into every upload and the code digest"]
    assert sensitive_warnings(listing, "hello", "aws") == [
        f"functions-tui: warning: hello: {src / 'tls/server.key'} looks like a secret (a key or .env file) and is "
        "not excluded (re-included by .functionsignore:2): it is in the package uploaded to aws"]


def test_a_bad_pattern_names_the_ignore_file_and_line(tmp_path):
    src = tree(tmp_path / "src", {**CODE, ".functionsignore": "ok.txt\n!\n"})
    with pytest.raises(PackagingError) as err:
        source_files(src)
    assert str(err.value).startswith(f"{src / '.functionsignore'}:2: not a gitignore pattern: '!'")
    write_yaml(src / "function.yaml", {"name": "hello", "runtime": "python3.11"})
    with pytest.raises(DeclarationError) as err:
        load_declarations(src, environ={})
    assert str(err.value).startswith(f"{src / '.functionsignore'}:2: not a gitignore pattern: '!'")


def test_symlinked_folders_are_not_entered_and_linked_files_are_read(tmp_path):
    tree(tmp_path / "outside", {"lib.py": "X = 2\n"})
    src = tree(tmp_path / "src", CODE)
    (src / "linked").symlink_to(tmp_path / "outside")
    (src / "shared.py").symlink_to(tmp_path / "outside" / "lib.py")
    (src / "dangling.py").symlink_to(tmp_path / "nowhere.py")
    listing = source_files(src)
    assert listing.names == [".envrc", "README.md", "lib/util.py", "main.py", "shared.py"]
    assert dict(listing.files)["shared.py"].read_text() == "X = 2\n"


def test_a_single_file_source_is_that_file(tmp_path):
    src = tree(tmp_path, {"handler.py": "x = 1\n"}) / "handler.py"
    listing = source_files(src)
    assert listing.names == ["handler.py"]
    assert listing.digest() == "sha256:" + hashlib.sha256(b"handler.py\0x = 1\n").hexdigest()
    assert source_files(tmp_path / "missing").names == []


# --- every package is the list ----------------------------------------------------------------------

def _zip_names(data: bytes) -> list[str]:
    return sorted(zipfile.ZipFile(io.BytesIO(data)).namelist())


def test_the_lambda_zip_the_gcp_upload_and_the_docker_context_hold_the_list(tmp_path, capsys):
    src = tree(tmp_path / "src", {**CODE, **SECRETS, "function.yaml": "name: hello\n", "notes/x": "",
                                   ".gcloudignore": "README.md\n", ".functionsignore": "notes/\n!.env.local\n"})
    expected = [".env.local", ".envrc", "lib/util.py", "main.py"]
    assert source_files(src).names == expected
    spec = FunctionSpec(name="hello", runtime="python3.11", source=str(src))

    assert _zip_names(aws.zip_source(spec)) == expected
    assert _zip_names(gcp.zip_source(spec.source, "hello")) == expected
    context = docker.build_context(spec, "functions-tui-base/python:local", None)
    with tarfile.open(fileobj=context) as tar:
        files = sorted(m.name[len("src/"):] for m in tar.getmembers() if m.isfile() and m.name.startswith("src/"))
    assert files == expected

    warnings = [line for line in capsys.readouterr().err.splitlines() if "looks like a secret" in line]
    assert [w.split("it is in the package uploaded to ")[1] for w in warnings] == ["aws", "gcp", "docker"]
    assert all(str(src / ".env.local") in w for w in warnings)


def test_the_warning_sink_can_be_replaced(tmp_path, monkeypatch):
    src = tree(tmp_path / "src", {**CODE, "id_rsa": "k", ".functionsignore": "!id_rsa\n"})
    seen: list[str] = []
    monkeypatch.setattr(packaging, "warning_sink", seen.append)
    packaging.warn_sensitive(source_files(src), "hello", "gcp")
    assert len(seen) == 1 and "id_rsa" in seen[0]


# --- source: stays inside the declaration's folder --------------------------------------------------

@pytest.fixture
def cli(tmp_path):
    home = tmp_path / "home"
    env = cli_env(home)
    tree(tmp_path / "proj" / "keep", {"main.py": "x = 1\n"})
    write_yaml(tmp_path / "proj" / "keep" / "function.yaml", {"name": "keep", "runtime": "python3.11"})
    done = run_cli("add", str(tmp_path / "proj" / "keep"), env=env)
    assert done.returncode == 0, done.stderr
    tree(tmp_path / "elsewhere", {"main.py": "x = 2\n"})
    return tmp_path, home, env


def test_source_outside_the_folder_is_refused_with_the_line(cli):
    tmp_path, home, env = cli
    folder = tmp_path / "proj" / "hello"
    decl = write_yaml(folder / "function.yaml", "name: hello\nruntime: python3.11\nsource: ../../elsewhere\n")
    before = registry_bytes(home)
    done = run_cli("add", str(folder), env=env)
    assert done.returncode == 1
    assert one_line_error(done.stderr) == (
        f"functions-tui: error: {decl}:3: source: ../../elsewhere is outside {folder.resolve()} "
        "(set source_outside: true to allow it)")
    assert registry_bytes(home) == before


def test_a_symlink_out_of_the_folder_is_outside_too(cli):
    tmp_path, home, env = cli
    folder = tmp_path / "proj" / "hello"
    folder.mkdir(parents=True)
    (folder / "code").symlink_to(tmp_path / "elsewhere")
    decl = write_yaml(folder / "functions.yaml", "functions:\n  - name: hello\n    runtime: python3.11\n"
                                                 "    source: code\n")
    before = registry_bytes(home)
    done = run_cli("add", str(folder), env=env)
    assert done.returncode == 1
    assert one_line_error(done.stderr) == (
        f"functions-tui: error: {decl}:4: functions[0].source: code is outside {folder.resolve()} "
        "(set source_outside: true to allow it)")
    assert registry_bytes(home) == before


def test_source_outside_true_allows_it(cli):
    tmp_path, home, env = cli
    folder = tmp_path / "proj" / "hello"
    write_yaml(folder / "function.yaml", "name: hello\nruntime: python3.11\nsource: ../../elsewhere\n"
                                         "source_outside: true\n")
    done = run_cli("add", str(folder), env=env)
    assert done.returncode == 0, done.stderr
    [spec] = load_declarations(folder, environ={})
    assert spec.source == str((tmp_path / "elsewhere").resolve())
    assert spec.code_digest == digest_source(tmp_path / "elsewhere")


def test_add_warns_about_a_re_included_secret_and_registers(cli):
    tmp_path, home, env = cli
    folder = tree(tmp_path / "proj" / "hello", {"main.py": "x = 1\n", ".env": "TOKEN=1", "id_ed25519": "k",
                                                ".functionsignore": "!.env\n"})
    write_yaml(folder / "function.yaml", {"name": "hello", "runtime": "python3.11"})
    done = run_cli("add", str(folder), env=env)
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith("functions-tui: warning:")]
    assert lines == [f"functions-tui: warning: hello: {folder.resolve() / '.env'} looks like a secret (a key or "
                     ".env file) and is not excluded (re-included by .functionsignore:1): it goes into every "
                     "upload and the code digest"]


def test_add_names_a_bad_ignore_file_line(cli):
    tmp_path, home, env = cli
    folder = tree(tmp_path / "proj" / "hello", {"main.py": "x = 1\n", ".gcloudignore": "a\nb\\\n"})
    write_yaml(folder / "function.yaml", {"name": "hello", "runtime": "python3.11"})
    before = registry_bytes(home)
    done = run_cli("add", str(folder), env=env)
    assert done.returncode == 1
    assert one_line_error(done.stderr).startswith(
        f"functions-tui: error: {folder.resolve() / '.gcloudignore'}:2: not a gitignore pattern: 'b\\\\'")
    assert registry_bytes(home) == before


def test_packaging_imports_no_cloud_sdk():
    import subprocess
    import sys

    code = ("import sys, functions_tui.registry.packaging, functions_tui.registry.limits, functions_tui.components.aws, functions_tui.components.gcp, functions_tui.components.docker\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('boto3', 'botocore', 'google', 'docker')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).resolve().parents[1], env={**os.environ})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
