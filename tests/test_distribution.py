"""What installing functions-tui brings: its run-time dependencies are only what it imports;
moto (the sandbox's AWS, ~40 packages) is the optional extra `functions-tui[sandbox]`."""

from __future__ import annotations

from importlib import metadata


def _requirements() -> tuple[list[str], list[str]]:
    requires = metadata.requires("functions-tui") or []
    runtime = [r for r in requires if "extra ==" not in r]
    sandbox = [r for r in requires if 'extra == "sandbox"' in r]
    return runtime, sandbox


def test_moto_is_the_sandbox_extra_not_a_run_time_dependency():
    runtime, sandbox = _requirements()
    assert not [r for r in runtime if r.startswith("moto")], runtime
    assert [r for r in sandbox if r.startswith("moto")], sandbox


def test_no_run_time_dependency_goes_unused():
    runtime, _ = _requirements()
    names = {r.split(">")[0].split("<")[0].split("=")[0].split("[")[0].split(";")[0].strip() for r in runtime}
    assert "tenacity" not in names   # was declared and never imported
