"""`functions-tui restore` (list, previous, by serial, asked on a terminal, --yes elsewhere,
undoable), a missing registry failing closed in every command, `config --reset` keeping
every earlier config, and eight `add`s racing on a fresh config folder. All through the real
command in subprocesses (a pty for the terminal)."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys

import pytest

from functions_tui.registry.store import RegistryStore
from tests.cli_helpers import cli_env, command, make_function, one_line_error, registry_bytes, run_cli, write_yaml


def run_piped(*args: str, env) -> subprocess.CompletedProcess:
    """The command with stdin not a terminal (a script, cron, CI)."""
    return subprocess.run(command() + list(args), env=env, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=180)


def run_on_terminal(*args: str, env, answer: str) -> tuple[int, str]:
    """The command on a pty; ``answer`` is typed once the [y/N] question shows."""
    primary, secondary = pty.openpty()
    proc = subprocess.Popen(command() + list(args), env=env, stdin=secondary, stdout=secondary,
                            stderr=secondary, close_fds=True)
    os.close(secondary)
    output, answered = b"", False
    try:
        while True:  # blocking reads: each returns when the command writes, EOF/EIO when it exits
            try:
                chunk = os.read(primary, 4096)
            except OSError:  # the child closed the pty
                chunk = b""
            if not chunk:
                break
            output += chunk
            if not answered and b"[y/N]" in output:
                os.write(primary, answer.encode() + b"\n")
                answered = True
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(primary)
    return proc.returncode, output.decode(errors="replace").replace("\r\n", "\n")


def functions_in(home) -> list[str]:
    return sorted(RegistryStore(home / "registry.json").load().functions)


@pytest.fixture
def three(tmp_path):
    """A config folder whose registry was written by three `add`s: alpha, +beta, +gamma."""
    home = tmp_path / "home"
    env = cli_env(home)
    for name in ("alpha", "beta", "gamma"):
        make_function(tmp_path / "src", name)
        result = run_cli("add", str(tmp_path / "src" / name), env=env)
        assert result.returncode == 0, result.stderr
    return home, env


def test_list_shows_generations_newest_first(three, tmp_path):
    home, env = three
    result = run_cli("restore", "--list", env=env)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "2 generation(s)" in lines[0] and "the registry now is serial 3" in lines[0]
    assert lines[1].split() == ["serial", "time", "functions", "actor", "command"]
    rows = [line.split() for line in lines[2:]]
    assert [(r[0], r[2]) for r in rows] == [("2", "2"), ("1", "1")]  # serial, function count
    assert lines[2].endswith(f"functions-tui add {tmp_path / 'src' / 'beta'}")
    assert lines[3].endswith(f"functions-tui add {tmp_path / 'src' / 'alpha'}")
    assert "(import)" in lines[2]  # the actor: user@host pid N (source)

    doc = json.loads(run_cli("restore", "--list", "--json", env=env).stdout)
    assert doc["current_serial"] == 3
    assert [(g["serial"], g["functions"]) for g in doc["generations"]] == [(2, 2), (1, 1)]


def test_restore_puts_back_the_previous_generation_and_restore_again_undoes_it(three):
    home, env = three
    result = run_piped("restore", "--yes", env=env)
    assert result.returncode == 0, result.stderr
    assert "restored serial 2 from" in result.stdout and "now serial 4" in result.stdout
    assert "kept as serial 3" in result.stdout
    assert functions_in(home) == ["alpha", "beta"]

    undo = run_piped("restore", "--yes", env=env)
    assert undo.returncode == 0, undo.stderr
    assert "restored serial 3 from" in undo.stdout
    assert functions_in(home) == ["alpha", "beta", "gamma"]
    listed = run_cli("restore", "--list", env=env).stdout
    assert "functions-tui restore --yes" in listed  # the restore's own generation says what made it


def test_restore_by_serial_keeps_the_lineage(three):
    home, env = three
    lineage = RegistryStore(home / "registry.json").load().lineage
    result = run_piped("restore", "1", "--yes", env=env)
    assert result.returncode == 0, result.stderr
    snapshot = RegistryStore(home / "registry.json").load()
    assert sorted(snapshot.functions) == ["alpha"] and snapshot.lineage == lineage and snapshot.serial == 4
    missing = run_piped("restore", "42", "--yes", env=env)
    assert missing.returncode == 1 and "no generation with serial 42" in one_line_error(missing.stderr)


def test_restore_off_a_terminal_needs_yes(three):
    home, env = three
    before = registry_bytes(home)
    result = run_piped("restore", env=env)
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "--yes" in lines[0] and "restore serial 2 from" in lines[0]
    assert registry_bytes(home) == before


def test_restore_on_a_terminal_asks_first(three):
    home, env = three
    before = registry_bytes(home)
    code, out = run_on_terminal("restore", env=env, answer="n")
    assert code == 2 and "nothing changed" in out
    assert "restore serial 2 from " in out and "(by " in out and ": functions-tui add " in out and "? [y/N]" in out
    assert registry_bytes(home) == before

    code, out = run_on_terminal("restore", env=env, answer="y")
    assert code == 0, out
    assert "restored serial 2" in out
    assert functions_in(home) == ["alpha", "beta"]


def test_read_only_lists_but_never_restores(three):
    home, env = three
    before = registry_bytes(home)
    assert run_piped("--read-only", "restore", "--list", env=env).returncode == 0
    result = run_piped("--read-only", "restore", "--yes", env=env)
    assert result.returncode == 1 and "read-only" in one_line_error(result.stderr)
    assert registry_bytes(home) == before


def test_a_corrupt_registry_is_restored_without_asking(three):
    home, env = three
    (home / "registry.json").write_bytes(b'{"meta": {"1": {"serial": 3')  # truncated
    broken = run_piped("status", env=env)
    assert broken.returncode == 1 and "functions-tui restore" in one_line_error(broken.stderr)
    result = run_piped("restore", env=env)  # nothing to lose: the damaged file is kept aside
    assert result.returncode == 0, result.stderr
    assert "restored serial 2" in result.stdout and "registry.json.corrupt-" in result.stdout
    assert functions_in(home) == ["alpha", "beta"]
    assert list(home.glob("registry.json.corrupt-*"))


def test_a_missing_registry_fails_closed_in_every_command(three, tmp_path):
    home, env = three
    (home / "registry.json").unlink()
    make_function(tmp_path / "more", "delta")
    for args in (("status",), ("--sync",), ("--sync", "--dry-run"), ("info", "alpha"), ("history",),
                 ("add", str(tmp_path / "more")), ()):  # () is the app itself: it must not open
        result = run_piped(*args, env=env)
        assert result.returncode == 1, (args, result.stdout, result.stderr)
        line = one_line_error(result.stderr)
        assert str(home / "registry.json") in line and "functions-tui restore" in line, args
        assert not (home / "registry.json").exists()

    listed = run_piped("restore", "--list", env=env)
    assert listed.returncode == 0 and "2 generation(s)" in listed.stdout
    result = run_piped("restore", env=env)  # nothing to lose: no --yes needed
    assert result.returncode == 0, result.stderr
    assert functions_in(home) == ["alpha", "beta"]


def test_a_fresh_folder_starts_empty(tmp_path):
    result = run_piped("status", env=cli_env(tmp_path / "home"))
    assert result.returncode == 0, result.stderr
    assert "0 functions" in result.stdout


def test_only_the_configured_number_of_generations_is_kept(tmp_path):
    home = tmp_path / "home"
    env = cli_env(home)
    write_yaml(home / "config.yaml", "generations: 2\n")
    for name in ("a1", "a2", "a3", "a4"):
        make_function(tmp_path / "src", name)
        assert run_cli("add", str(tmp_path / "src" / name), env=env).returncode == 0
    assert sorted(p.name for p in (home / "generations").iterdir()) == ["serial-2.json", "serial-3.json"]


def test_config_reset_keeps_every_earlier_config(tmp_path):
    home = tmp_path / "home"
    env = cli_env(home)
    write_yaml(home / "config.yaml", {"max_deletions": 3})
    first = run_cli("config", "--reset", env=env)
    assert first.returncode == 0, first.stderr
    assert str(home / "config.yaml.bak") in first.stdout
    write_yaml(home / "config.yaml", {"max_deletions": 4})
    second = run_cli("config", "--reset", env=env)
    assert second.returncode == 0, second.stderr
    assert str(home / "config.yaml.2.bak") in second.stdout
    assert "max_deletions: 3" in (home / "config.yaml.bak").read_text()
    assert "max_deletions: 4" in (home / "config.yaml.2.bak").read_text()
    assert "max_deletions: 10" in (home / "config.yaml").read_text()
    third = run_cli("config", "--reset", env=env)  # the default already: nothing new to keep
    assert third.returncode == 0 and "no earlier config to keep" in third.stdout
    assert sorted(p.name for p in home.glob("config.yaml*")) == ["config.yaml", "config.yaml.2.bak",
                                                                  "config.yaml.bak"]


#: `functions-tui add PATH` (app.cli.main, as the console script runs it), started by the
#: test only once every process is loaded and waiting: each says "ready" on stdout and blocks
#: on stdin until the test releases all eight at once, so they reach the first-run setup
#: together instead of being spread out by their start-up times. (No delay and no polling:
#: the handshake is the whole synchronisation.)
AT_ONCE = """
import sys
import functions_tui.app.cli, functions_tui.app.commands, functions_tui.app.config, functions_tui.app.first_run, functions_tui.app.service, functions_tui.registry.store

print("ready", flush=True)
sys.stdin.readline()
sys.argv = ["functions-tui", "add", sys.argv[1]]
sys.exit(functions_tui.app.cli.main())
"""


def test_eight_adds_at_once_on_a_fresh_folder_all_succeed(tmp_path):
    home = tmp_path / "home"
    env = cli_env(home)
    names = [f"fn{i}" for i in range(8)]
    for name in names:
        make_function(tmp_path / "src", name)
    procs = [subprocess.Popen([sys.executable, "-c", AT_ONCE, str(tmp_path / "src" / name)], env=env,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for name in names]
    for proc in procs:                       # every one loaded and waiting
        assert proc.stdout.readline().strip() == "ready"
    for proc in procs:                       # then all released together
        proc.stdin.write("go\n")
        proc.stdin.flush()
    outputs = [proc.communicate(timeout=300) for proc in procs]
    assert [proc.returncode for proc in procs] == [0] * 8, [err for _, err in outputs]
    assert functions_in(home) == names
    assert (home / "config.yaml").read_text().startswith("# functions-tui configuration")
    assert not list(home.glob("*.tmp")) and not list(home.glob(".*.tmp"))
    assert not list(home.glob("config.yaml*.bak"))  # first run never "resets" a config another wrote
