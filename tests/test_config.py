"""config.yaml and the config dir, through the real command."""

from __future__ import annotations

import stat

import pytest
import yaml

from tests.cli_helpers import cli_env, one_line_error, registry_bytes, run_cli, write_yaml


def test_show_prints_defaults_before_any_file_exists(tmp_path):
    result = run_cli("config", "--show", env=cli_env(tmp_path / "home"))
    assert result.returncode == 0, result.stderr
    assert "(not written yet: defaults)" in result.stdout
    shown = yaml.safe_load(result.stdout)
    assert shown["policies"] == {"docker": "ask", "gcp": "component-wins", "aws": "component-wins"}
    assert [s["name"] for s in shown["syncs"]] == ["docker", "gcp", "aws"]
    assert shown["max_deletions"] == 10


def test_reset_writes_the_default_file_and_keeps_the_old_one(tmp_path):
    home = tmp_path / "home"
    env = cli_env(home)
    write_yaml(home / "config.yaml", {"policies": {"aws": "ask"}, "max_deletions": 3})
    shown = yaml.safe_load(run_cli("config", "--show", env=env).stdout)
    assert shown["policies"]["aws"] == "ask" and shown["max_deletions"] == 3

    result = run_cli("config", "--reset", env=env)
    assert result.returncode == 0, result.stderr
    assert "max_deletions: 3" in (home / "config.yaml.bak").read_text()
    assert stat.S_IMODE((home / "config.yaml").stat().st_mode) == 0o600
    shown = yaml.safe_load(run_cli("config", "--show", env=env).stdout)
    assert shown["policies"]["aws"] == "component-wins" and shown["max_deletions"] == 10


def test_named_syncs_gcp_and_aws_settings_are_read(tmp_path):
    home = tmp_path / "home"
    write_yaml(home / "config.yaml", {
        "syncs": [{"name": "clouds", "components": ["gcp", "aws"], "direction": "pull", "policy": "ask",
                   "interval": 60},
                  {"name": "local", "components": ["docker"], "after": ["clouds"]}],
        "gcp": {"endpoint": "http://127.0.0.1:8089", "project": "p1"},
        "aws": {"region": "eu-west-1", "profile": "dev", "role": "arn:aws:iam::1:role/x"},
        "docker": {"base_images": {"python3.11": "my-python:3.11"}}})
    shown = yaml.safe_load(run_cli("config", "--show", env=cli_env(home)).stdout)
    assert shown["syncs"][0] == {"name": "clouds", "components": ["gcp", "aws"], "direction": "pull",
                                 "policy": "ask", "conflicts": None, "interval": 60, "after": []}
    assert shown["syncs"][1]["after"] == ["clouds"]
    # The kinds' sections are the settings of their default instances, shown as components.
    assert shown["components"]["gcp"] == {"kind": "gcp", "endpoint": "http://127.0.0.1:8089", "project": "p1",
                                          "locations": None}
    assert shown["components"]["aws"]["region"] == "eu-west-1"
    assert shown["components"]["docker"]["base_images"] == {"python3.11": "my-python:3.11"}


BAD = {
    "unknown_field": ("policies:\n  aws: ask\nmax_delets: 3\n", "config.yaml:3: max_delets: unknown field"),
    "bad_policy": ("policies:\n  gcp: cloud-wins\n", "config.yaml:2: policies.gcp: 'cloud-wins' is not one of"),
    "wrong_type": ("max_deletions: many\n", "config.yaml:1: max_deletions: expected a whole number"),
    "unknown_component": ("syncs:\n  - name: s\n    components: [azure]\n",
                          "config.yaml:3: syncs[0].components[0]: unknown component 'azure'"),
    "sync_cycle": ("syncs:\n  - {name: a, components: [aws], after: [b]}\n  - {name: b, components: [gcp], after: [a]}\n",
                   "syncs.after: cycle: a -> b -> a"),
    "malformed": ("policies: {aws: ask\n", "config.yaml:2: malformed YAML"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_config_is_one_line_naming_file_line_field(tmp_path, case):
    home = tmp_path / "home"
    text, expected = BAD[case]
    write_yaml(home / "config.yaml", text)
    env = cli_env(home)
    for args in (("config", "--show"), ("--sync", "--dry-run"), ("status",)):
        result = run_cli(*args, env=env)
        assert result.returncode == 1, (args, result.stdout, result.stderr)
        line = one_line_error(result.stderr)
        assert expected in line and str(home / "config.yaml") in line, line
        assert "Traceback" not in result.stderr
    assert registry_bytes(home) is None


def test_config_dir_follows_xdg_and_functions_tui_home_overrides_it(tmp_path):
    env = cli_env(tmp_path / "unused")
    del env["FUNCTIONS_TUI_HOME"]
    env["XDG_CONFIG_HOME"] = str(tmp_path / "xdg")
    assert run_cli("config", "--reset", env=env).returncode == 0
    folder = tmp_path / "xdg" / "functions-tui"
    assert (folder / "config.yaml").exists()
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700

    env["FUNCTIONS_TUI_HOME"] = str(tmp_path / "override")
    assert run_cli("config", "--reset", env=env).returncode == 0
    assert (tmp_path / "override" / "config.yaml").exists()
    assert stat.S_IMODE((tmp_path / "override").stat().st_mode) == 0o700


def test_detections_are_cached_and_made_again_when_the_settings_change(tmp_path):
    import json

    home = tmp_path / "home"
    env = cli_env(home)
    assert run_cli("components", env=env).returncode == 0
    cache = home / "components.json"
    first = cache.stat().st_mtime_ns
    assert "first run" not in run_cli("components", env=env).stderr
    assert cache.stat().st_mtime_ns == first  # read from the cache, not detected again
    write_yaml(home / "config.yaml", {"gcp": {"endpoint": "http://127.0.0.1:9", "project": "p"}})
    shown = json.loads(run_cli("components", "--json", env=env).stdout)
    saved = json.loads(cache.read_text())
    assert saved["settings"]["gcp"] == {"project": "p", "endpoint": "http://127.0.0.1:9"}
    assert shown["components"]["gcp"]["details"].get("endpoint") == "http://127.0.0.1:9"
