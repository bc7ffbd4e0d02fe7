"""The command itself: help, usage errors, first run, components, read-only, restore,
the emulator command. All through the real ``functions-tui`` in a subprocess."""

from __future__ import annotations

import json
import signal
import subprocess
import sys

from tests.cli_helpers import cli_env, command, make_function, one_line_error, registry_bytes, run_cli


def _imported(stderr: str) -> set[str]:
    return {line.split("|")[-1].strip() for line in stderr.splitlines() if line.startswith("import time:")}


def test_help_lists_the_commands_and_imports_no_sdk_and_no_ui(tmp_path):
    result = run_cli("--help", env=cli_env(tmp_path / "home"), python_flags=("-X", "importtime"))
    assert result.returncode == 0
    for word in ("--sync", "--dry-run", "--json", "--allow-empty", "--read-only", "--sandbox", "status",
                 "components", "config", "deploy", "gc", "restore", "emulator"):
        assert word in result.stdout
    imported = _imported(result.stderr)
    assert "argparse" in imported
    heavy = [m for m in imported if m.split(".")[0] in ("textual", "boto3", "botocore", "docker", "google", "rich", "moto")]
    assert heavy == []


def test_usage_error_exits_1_not_2(tmp_path):
    result = run_cli("frobnicate", env=cli_env(tmp_path / "home"))
    assert result.returncode == 1
    assert "invalid choice" in result.stderr


def test_first_run_creates_the_config_dir_and_says_it_takes_a_moment(tmp_path):
    home = tmp_path / "home"
    env = cli_env(home)
    first = run_cli("components", env=env)
    assert first.returncode == 0, first.stderr
    assert "first run: detecting components, this takes a moment" in first.stderr
    assert (home / "config.yaml").exists() and (home / "components.json").exists()
    assert (home.stat().st_mode & 0o777) == 0o700
    # Docker is unavailable here (DOCKER_HOST points nowhere): the table says why and how to fix it.
    assert "docker" in first.stdout and "no" in first.stdout and "fix" in first.stdout
    second = run_cli("components", "--json", env=env)
    assert "first run" not in second.stderr
    doc = json.loads(second.stdout)
    docker = doc["components"]["docker"]
    assert docker["available"] is False and docker["reason"] and docker["fix"]


def test_a_command_needing_an_unavailable_component_says_why_and_how_to_fix(tmp_path):
    env = cli_env(tmp_path / "home")
    for args in (("sync", "docker"), ("--sync", "docker"), ("status", "docker")):
        result = run_cli(*args, env=env)
        assert result.returncode == 1, (args, result.stdout, result.stderr)
        line = one_line_error(result.stderr)
        assert "docker is unavailable" in line and "fix:" in line


def test_unknown_component_is_an_error(tmp_path):
    result = run_cli("--sync", "azure", env=cli_env(tmp_path / "home"))
    assert result.returncode == 1
    assert "unknown component 'azure'" in one_line_error(result.stderr)


def test_read_only_refuses_every_change(tmp_path):
    home = tmp_path / "home"
    env = cli_env(home)
    make_function(tmp_path / "src", "alpha")
    result = run_cli("--read-only", "add", str(tmp_path / "src"), env=env)
    assert result.returncode == 1
    assert "read-only" in one_line_error(result.stderr)
    assert registry_bytes(home) is None
    assert run_cli("add", str(tmp_path / "src"), env=env).returncode == 0
    before = registry_bytes(home)
    for args in (("--read-only", "delete", "alpha"), ("--read-only", "restore")):
        result = run_cli(*args, env=env)
        assert result.returncode == 1 and "read-only" in one_line_error(result.stderr)
    assert registry_bytes(home) == before


def test_restore_brings_back_the_last_good_registry(tmp_path):
    home = tmp_path / "home"
    env = cli_env(home)
    make_function(tmp_path / "a", "alpha")
    make_function(tmp_path / "b", "beta")
    assert run_cli("add", str(tmp_path / "a"), env=env).returncode == 0
    assert run_cli("add", str(tmp_path / "b"), env=env).returncode == 0
    (home / "registry.json").write_bytes(b"")  # a 0-byte registry: never read as empty
    broken = run_cli("info", "alpha", env=env)
    assert broken.returncode == 1 and "restore" in one_line_error(broken.stderr)

    restored = run_cli("restore", env=env)
    assert restored.returncode == 0, restored.stderr
    info = run_cli("info", "alpha", env=env)
    assert info.returncode == 0, info.stderr
    assert "alpha" in info.stdout


def test_info_and_history_of_unknown_function(tmp_path):
    env = cli_env(tmp_path / "home")
    result = run_cli("info", "nobody", env=env)
    assert result.returncode == 1
    assert "no function named 'nobody'" in one_line_error(result.stderr)


def test_emulator_command_serves_the_gcp_api(tmp_path):
    proc = subprocess.Popen(command() + ["emulator", "gcp", "--port", "0"], env=cli_env(tmp_path / "home"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert "listening on http://127.0.0.1:" in line
        endpoint = line.rsplit(" ", 1)[-1].strip()
        import urllib.request

        with urllib.request.urlopen(f"{endpoint}/v2/projects/p/locations/-/functions", timeout=10) as r:
            assert json.loads(r.read()).get("functions", []) == []
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0


def test_the_cli_modules_import_no_sdk_and_no_ui(tmp_path):
    """SDKs load when a component is used, the UI when the app opens: never on import."""
    import subprocess
    import sys

    modules = ("cli", "commands", "headless", "service", "config", "declarations", "adapters", "sandbox",
               "sandbox_seed", "first_run", "detection_cache")
    code = ("import sys; import " + ", ".join(f"functions_tui.app.{m}" for m in modules) + "; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & "
            "{'textual', 'boto3', 'botocore', 'docker', 'google', 'moto', 'rich'}))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env=cli_env(tmp_path / "home"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_add_refuses_an_after_cycle_closed_through_a_registered_function(tmp_path):
    env = cli_env(tmp_path / "home")
    make_function(tmp_path / "decl", "b", targets={"aws": {}})
    make_function(tmp_path / "decl", "a", after=["b"], targets={"aws": {}})
    assert run_cli("add", str(tmp_path / "decl" / "b"), env=env).returncode == 0
    assert run_cli("add", str(tmp_path / "decl" / "a"), env=env).returncode == 0   # b is registered
    before = registry_bytes(tmp_path / "home")
    b_file = make_function(tmp_path / "decl", "b", after=["a"], targets={"aws": {}})   # b after a after b
    result = run_cli("add", str(tmp_path / "decl" / "b"), env=env)
    assert result.returncode == 1
    line = one_line_error(result.stderr)
    assert str(b_file) in line and "b.after" in line and "b -> a -> b" in line, line
    assert registry_bytes(tmp_path / "home") == before   # nothing registered


def test_version_names_the_libraries_and_exits_0_without_network(tmp_path):
    result = run_cli("--version", env=cli_env(tmp_path / "home"))
    assert result.returncode == 0, result.stderr
    first, libraries, components = result.stdout.splitlines()[:3]
    assert first.startswith("functions-tui ") and "Python 3." in first
    for library in ("textual", "tinydb", "boto3", "docker", "google-cloud-functions"):
        assert library in libraries
    assert "components" in components


def test_every_option_and_argument_has_help_text_naming_the_valid_components():
    import argparse

    from functions_tui.app.cli import build_parser

    parser = build_parser()
    parsers = [("functions-tui", parser)]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            parsers += list(action.choices.items())
    for name, p in parsers:
        for action in p._actions:
            if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
                continue
            assert action.help, f"{name}: {action.option_strings or action.dest} has no help text"
    assert "docker, gcp, aws" in parser.format_help()


def test_sync_names_may_come_after_the_flags(tmp_path):
    from functions_tui.app.cli import _sync_names_first, build_parser

    parser = build_parser()
    assert _sync_names_first(["--sync", "--dry-run", "aws", "--json"], parser) == ["--sync", "aws", "--dry-run", "--json"]
    assert _sync_names_first(["status", "aws"], parser) == ["status", "aws"]
    # a real run: not a usage error about "aws" (it is read as the component, which has no credentials here)
    result = run_cli("--sync", "--dry-run", "aws", env=cli_env(tmp_path / "home"))
    assert "invalid choice" not in result.stderr
    assert "aws is unavailable" in one_line_error(result.stderr), result.stderr


def test_sandbox_without_moto_says_which_command_installs_it(tmp_path):
    # moto cannot be uninstalled under a running test session: a finder hides it from this
    # one process, as if the optional extra had not been installed
    hide_moto = ("import sys\n"
                 "class WithoutMotoInstalled:\n"
                 "    def find_spec(self, name, path=None, target=None):\n"
                 "        if name == 'moto' or name.startswith('moto.'):\n"
                 "            raise ModuleNotFoundError(f'No module named {name!r}', name=name)\n"
                 "sys.meta_path.insert(0, WithoutMotoInstalled())\n"
                 "from functions_tui.app.cli import main\n"
                 "sys.exit(main(['--sandbox', '--sync', '--dry-run']))\n")
    result = subprocess.run([sys.executable, "-c", hide_moto], env=cli_env(tmp_path / "home"),
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    line = one_line_error(result.stderr)
    assert "moto" in line and "pip install 'functions-tui[sandbox]'" in line, line
    assert not (tmp_path / "home").exists()   # nothing was started or written


def test_bash_completes_commands_and_components_through_the_printed_script(tmp_path):
    env = cli_env(tmp_path / "home")
    for shell in ("bash", "zsh", "fish"):
        script = run_cli("completion", shell, env=env)
        assert script.returncode == 0 and "functions-tui" in script.stdout, script.stderr
    # a real bash, with the script loaded as a user's .bashrc would, asked as <tab> asks
    ask = ('eval "$(functions-tui completion bash)"\n'
           'complete_words() { COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 )); COMP_LINE="$*"; '
           'COMP_POINT=${#COMP_LINE}; _python_argcomplete functions-tui "${@: -1}" "${@: -2:1}"; '
           'echo "${COMPREPLY[*]}"; }\n'
           'complete_words functions-tui sta\n'
           'complete_words functions-tui deploy hello --to ""\n')
    result = subprocess.run(["bash", "-c", ask], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    commands, components = result.stdout.splitlines()[:2]
    assert commands.split() == ["status"]
    assert components.split() == ["docker", "gcp", "aws"]
