"""Declarations through the real command: ``functions-tui add PATH``.

Every bad input is one line naming file, line and field, exit 1, and the registry is left
byte for byte as it was.
"""

from __future__ import annotations

import json

import pytest

from tests.cli_helpers import cli_env, make_function, one_line_error, registry_bytes, run_cli, write_yaml


@pytest.fixture
def env(tmp_path):
    return cli_env(tmp_path / "home")


def _registered(env) -> dict:
    data = json.loads((__import__("pathlib").Path(env["FUNCTIONS_TUI_HOME"]) / "registry.json").read_text())
    text = json.dumps(data)
    return {name: name in text for name in ("alpha", "beta", "gamma")}


def test_add_registers_functions_found_recursively_with_variables(tmp_path, env):
    make_function(tmp_path / "src", "alpha", memory="${MEM}", env={"GREETING": "${GREETING}"},
                  variables={"GREETING": "hello"}, targets={"docker": {"port": 8080}})
    write_yaml(tmp_path / "src" / "group" / "functions.yaml", {
        "variables": {"REGION": "eu-west-1"},
        "functions": [
            {"name": "beta", "runtime": "python3.11", "after": ["alpha"], "targets": {"aws": {"region": "${REGION}"}}},
            {"name": "gamma", "runtime": "python3.11", "after": ["beta"]},
        ]})
    result = run_cli("add", str(tmp_path / "src"), env={**env, "MEM": "512"})
    assert result.returncode == 0, result.stderr
    assert "alpha, beta, gamma" in result.stdout
    info = run_cli("info", "alpha", env=env)
    assert info.returncode == 0, info.stderr
    assert "512" in info.stdout and "GREETING=•••" in info.stdout
    assert "hello" not in info.stdout  # env values are secrets: never printed
    info = run_cli("info", "beta", env=env)
    assert "eu-west-1" in info.stdout and "alpha" in info.stdout
    history = run_cli("history", env=env)
    assert history.returncode == 0 and "gamma" in history.stdout


CASES = {
    "malformed": ("function.yaml", "name: alpha\nruntime: [python3.11\n", "function.yaml:3", "malformed YAML"),
    "unknown_field": ("function.yaml", "name: alpha\nruntime: python3.11\nmemroy: 512\n",
                      "function.yaml:3: memroy: unknown field", None),
    "wrong_type": ("function.yaml", "name: alpha\nruntime: python3.11\nmemory: lots\n",
                   "function.yaml:3: memory: expected a whole number", None),
    "missing_variable": ("function.yaml", "name: alpha\nruntime: python3.11\nenv:\n  KEY: ${NOT_SET_ANYWHERE}\n",
                         "function.yaml:4: env.KEY: variable ${NOT_SET_ANYWHERE} is not set", None),
    "missing_required": ("function.yaml", "name: alpha\nmemory: 128\n", "function.yaml:1: runtime: required", None),
    "unknown_target_field": ("function.yaml", "name: alpha\nruntime: python3.11\ntargets:\n  aws: {regoin: x}\n",
                             "function.yaml:4: targets.aws.regoin: unknown field", None),
    "cycle": ("functions.yaml",
              "functions:\n  - {name: alpha, runtime: python3.11, after: [beta]}\n"
              "  - {name: beta, runtime: python3.11, after: [alpha]}\n",
              "functions.yaml:2: alpha.after: cycle in after: alpha -> beta -> alpha", None),
    "unknown_after": ("function.yaml", "name: alpha\nruntime: python3.11\nafter: [nobody]\n",
                      "alpha.after: no function named 'nobody'", None),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_declaration_is_one_line_naming_file_line_field_and_changes_nothing(tmp_path, env, case):
    # A registry with one function already in it: it must come out byte for byte the same.
    make_function(tmp_path / "good", "gamma")
    assert run_cli("add", str(tmp_path / "good"), env=env).returncode == 0
    before = registry_bytes(tmp_path / "home")

    filename, text, where, extra = CASES[case]
    bad = write_yaml(tmp_path / "bad" / filename, text)
    result = run_cli("add", str(tmp_path / "bad"), env=env)

    assert result.returncode == 1
    line = one_line_error(result.stderr)
    assert str(bad.parent) in line and where in line, line
    if extra:
        assert extra in line
    assert "Traceback" not in result.stderr
    assert registry_bytes(tmp_path / "home") == before


def test_duplicate_name_across_files_names_both_places(tmp_path, env):
    make_function(tmp_path / "src" / "a", "alpha")
    make_function(tmp_path / "src" / "b", "alpha")
    result = run_cli("add", str(tmp_path / "src"), env=env)
    assert result.returncode == 1
    line = one_line_error(result.stderr)
    assert "already declared at" in line and "function.yaml:1" in line
    assert registry_bytes(tmp_path / "home") is None


def test_no_declarations_found_is_an_error(tmp_path, env):
    (tmp_path / "empty").mkdir()
    result = run_cli("add", str(tmp_path / "empty"), env=env)
    assert result.returncode == 1
    assert "no function.yaml or functions.yaml found" in one_line_error(result.stderr)


def test_environment_wins_over_variables_block(tmp_path, env):
    from pathlib import Path

    from functions_tui.app.declarations import load_declarations

    make_function(tmp_path, "alpha", env={"G": "${G}", "D": "${UNSET_WITH_DEFAULT:-fallback}"},
                  variables={"G": "from-file"})
    specs = load_declarations(Path(tmp_path), environ={"G": "from-env"})
    assert specs[0].env == {"G": "from-env", "D": "fallback"}
    specs = load_declarations(Path(tmp_path), environ={})
    assert specs[0].env["G"] == "from-file"


def test_code_digest_follows_the_source_not_the_declaration(tmp_path):
    from pathlib import Path

    from functions_tui.app.declarations import load_declarations

    make_function(tmp_path, "alpha", memory=128)
    first = load_declarations(Path(tmp_path), environ={})[0].code_digest
    make_function(tmp_path, "alpha", memory=512)  # a settings edit in function.yaml
    assert load_declarations(Path(tmp_path), environ={})[0].code_digest == first
    (tmp_path / "alpha" / "main.py").write_text("def main(event, context):\n    return 2\n")
    assert load_declarations(Path(tmp_path), environ={})[0].code_digest != first
