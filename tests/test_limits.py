"""Provider limits at ``add`` (registry/limits.py; each component module declares its LIMITS):
the real command refuses a spec a targeted provider would refuse, with one line
``file:line: field: problem (allowed: ...)``, exit 1, and the registry file unchanged."""

from __future__ import annotations

import pytest

from functions_tui.components import aws, docker, gcp
from functions_tui.registry.limits import check, describe, provider_runtime, runtime_key
from tests.cli_helpers import cli_env, one_line_error, registry_bytes, run_cli, write_yaml

LAMBDA_RUNTIMES = ("nodejs18.x, nodejs20.x, nodejs22.x, python3.9, python3.10, python3.11, python3.12, python3.13, "
                   "java8.al2, java11, java17, java21, dotnet8, ruby3.2, ruby3.3, ruby3.4, provided.al2, "
                   "provided.al2023")
GCP_RUNTIMES = ("nodejs18, nodejs20, nodejs22, python310, python311, python312, python313, go121, go122, go123, "
                "java17, java21, ruby32, ruby33, php82, php83, dotnet8")
LAMBDA_RESERVED = ("_HANDLER, _X_AMZN_TRACE_ID, AWS_DEFAULT_REGION, AWS_REGION, AWS_EXECUTION_ENV, "
                   "AWS_LAMBDA_FUNCTION_NAME, AWS_LAMBDA_FUNCTION_MEMORY_SIZE, AWS_LAMBDA_FUNCTION_VERSION, "
                   "AWS_LAMBDA_INITIALIZATION_TYPE, AWS_LAMBDA_LOG_GROUP_NAME, AWS_LAMBDA_LOG_STREAM_NAME, "
                   "AWS_ACCESS_KEY, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, "
                   "AWS_LAMBDA_RUNTIME_API, LAMBDA_TASK_ROOT, LAMBDA_RUNTIME_DIR")
GCP_RESERVED = "PORT, K_SERVICE, K_REVISION, K_CONFIGURATION, FUNCTION_TARGET, FUNCTION_SIGNATURE_TYPE, X_GOOGLE_*"
GCP_NAME = ("1 to 63 characters: lowercase letters, digits and hyphens (_ is deployed as -), starting with a letter "
            "and ending with a letter or digit")
GCP_TIMEOUT = "1 to 3600 s for an http trigger; 540 s for an event trigger"
DOCKER_NAME = "at most 241 characters: lowercase letters and digits, joined by single . or _, by __ or by hyphens"
LONG = "a" * 5000
GCP_LABELS = ("keys and values of lowercase letters, digits, _ and -, at most 63 characters; "
              "a key starts with a letter")
AWS_LABELS = ("keys of 1 to 128 and values of at most 256 letters, digits, spaces and + - = . _ : / @; "
              "keys not starting with aws:")


def declaration(name="hello", runtime="python3.11", memory=256, timeout=60, env="GREETING: hi",
                target="aws: {}") -> str:
    """Line 1 name, 2 runtime, 3 memory, 4 timeout, 5 env:, 6 its first variable, then targets."""
    return (f"name: {name}\nruntime: {runtime}\nmemory: {memory}\ntimeout: {timeout}\nenv:\n  {env}\n"
            f"targets:\n  {target}\n")


@pytest.fixture
def project(tmp_path):
    """A registry holding one function already; returns a function that adds a declaration."""
    home = tmp_path / "home"
    env = cli_env(home)
    keep = tmp_path / "keep"
    keep.mkdir()
    (keep / "main.py").write_text("x = 1\n")
    write_yaml(keep / "function.yaml", declaration(name="keep"))
    assert run_cli("add", str(keep), env=env).returncode == 0
    folder = tmp_path / "hello"
    folder.mkdir()
    (folder / "main.py").write_text("x = 1\n")

    def add(text: str, file: str = "function.yaml"):
        path = write_yaml(folder / file, text)
        before = registry_bytes(tmp_path / "home")
        done = run_cli("add", str(folder), env=env)
        return path, done, before, registry_bytes(tmp_path / "home")

    return add


REFUSED = [
    # AWS Lambda
    ("aws-memory-low", declaration(memory=1), 3,
     "memory: 1 MB is outside what aws (AWS Lambda) allows (allowed: 128 to 10240 MB)"),
    ("aws-memory-high", declaration(memory=99999999), 3,
     "memory: 99999999 MB is outside what aws (AWS Lambda) allows (allowed: 128 to 10240 MB)"),
    ("aws-timeout", declaration(timeout=100000), 4,
     "timeout: 100000 s is outside what aws (AWS Lambda) allows (allowed: 1 to 900 s)"),
    ("aws-runtime", declaration(runtime="cobol85"), 2,
     f"runtime: 'cobol85' is not a runtime of aws (AWS Lambda) (allowed: {LAMBDA_RUNTIMES})"),
    ("aws-name", declaration(name=LONG), 1,
     f"name: '{'a' * 40}'... (5000 characters) is not a valid function name on aws (AWS Lambda) "
     "(allowed: 1 to 64 characters: letters, digits, - and _)"),
    ("aws-name-65", declaration(name="a" * 65), 1,
     f"name: '{'a' * 40}'... (65 characters) is not a valid function name on aws (AWS Lambda) "
     "(allowed: 1 to 64 characters: letters, digits, - and _)"),
    ("aws-env-total", declaration(env="BIG: " + "x" * 5000), 5,
     "env: 5003 bytes of names and values are more than aws (AWS Lambda) takes (allowed: at most 4096 bytes in all)"),
    ("aws-env-reserved", declaration(env="AWS_REGION: eu-west-1"), 6,
     f"env.AWS_REGION: AWS_REGION is reserved by aws (AWS Lambda) (allowed: any other name; reserved: {LAMBDA_RESERVED})"),
    ("aws-env-name", declaration(env="1ST: x"), 6,
     "env.1ST: '1ST' is not a valid variable name on aws (AWS Lambda) (allowed: a letter, then letters, digits and _)"),
    # Cloud Functions v2
    ("gcp-memory-low", declaration(memory=64, target="gcp: {}"), 3,
     "memory: 64 MB is outside what gcp (Cloud Functions v2) allows (allowed: 128 to 32768 MB)"),
    ("gcp-memory-high", declaration(memory=99999999, target="gcp: {}"), 3,
     "memory: 99999999 MB is outside what gcp (Cloud Functions v2) allows (allowed: 128 to 32768 MB)"),
    ("gcp-timeout-http", declaration(timeout=3601, target="gcp: {trigger: http}"), 4,
     f"timeout: 3601 s is outside what gcp (Cloud Functions v2) allows (allowed: {GCP_TIMEOUT})"),
    ("gcp-timeout-default-trigger", declaration(timeout=100000, target="gcp: {}"), 4,
     f"timeout: 100000 s is outside what gcp (Cloud Functions v2) allows (allowed: {GCP_TIMEOUT})"),
    ("gcp-timeout-event", declaration(timeout=600, target="gcp: {trigger: pubsub}"), 4,
     "timeout: 600 s is outside what gcp (Cloud Functions v2) allows (allowed: 1 to 540 s for an event trigger (pubsub))"),
    ("gcp-runtime", declaration(runtime="cobol85", target="gcp: {}"), 2,
     f"runtime: 'cobol85' is not a runtime of gcp (Cloud Functions v2) (allowed: {GCP_RUNTIMES})"),
    ("gcp-runtime-old", declaration(runtime="python2.7", target="gcp: {}"), 2,
     f"runtime: 'python2.7' is not a runtime of gcp (Cloud Functions v2) (allowed: {GCP_RUNTIMES})"),
    ("gcp-name-digit", declaration(name="1st", target="gcp: {}"), 1,
     f"name: '1st' is not a valid function name on gcp (Cloud Functions v2) (allowed: {GCP_NAME})"),
    ("gcp-name-hyphen-end", declaration(name="hello-", target="gcp: {}"), 1,
     f"name: 'hello-' is not a valid function name on gcp (Cloud Functions v2) (allowed: {GCP_NAME})"),
    ("gcp-name-64", declaration(name="a" * 64, target="gcp: {}"), 1,
     f"name: '{'a' * 40}'... (64 characters) is not a valid function name on gcp (Cloud Functions v2) "
     f"(allowed: {GCP_NAME})"),
    ("gcp-env-reserved", declaration(env="PORT: '9000'", target="gcp: {}"), 6,
     f"env.PORT: PORT is reserved by gcp (Cloud Functions v2) (allowed: any other name; reserved: {GCP_RESERVED})"),
    ("gcp-env-prefix", declaration(env="X_GOOGLE_ZONE: a", target="gcp: {}"), 6,
     f"env.X_GOOGLE_ZONE: X_GOOGLE_ZONE is reserved by gcp (Cloud Functions v2) "
     f"(allowed: any other name; reserved: {GCP_RESERVED})"),
    ("gcp-env-total", declaration(env="BIG: " + "x" * 40000, target="gcp: {}"), 5,
     "env: 40003 bytes of names and values are more than gcp (Cloud Functions v2) takes "
     "(allowed: at most 32768 bytes in all)"),
    ("gcp-env-count", declaration(env="\n  ".join(f"V{i}: x" for i in range(1001)), target="gcp: {}"), 5,
     "env: 1001 variables are more than gcp (Cloud Functions v2) takes (allowed: at most 1000)"),
    # Docker
    ("docker-memory", declaration(memory=5, target="docker: {}"), 3,
     "memory: 5 MB is outside what docker (Docker) allows (allowed: at least 6 MB)"),
    ("docker-name", declaration(name="a___b", target="docker: {}"), 1,
     f"name: 'a___b' is not a valid function name on docker (Docker) (allowed: {DOCKER_NAME})"),
    ("docker-name-long", declaration(name=LONG, target="docker: {}"), 1,
     f"name: '{'a' * 40}'... (5000 characters) is not a valid function name on docker (Docker) "
     f"(allowed: {DOCKER_NAME})"),
    ("docker-env-reserved", declaration(env="FUNCTION_NAME: other", target="docker: {}"), 6,
     "env.FUNCTION_NAME: FUNCTION_NAME is reserved by docker (Docker) "
     "(allowed: any other name; reserved: FUNCTION_NAME, FUNCTION_TARGET, FUNCTION_TIMEOUT)"),
    ("docker-env-entry", declaration(env="BIG: " + "x" * 200000, target="docker: {}"), 6,
     "env.BIG: BIG=value is 200004 bytes, more than docker (Docker) takes (allowed: at most 131071 bytes)"),
    # Labels, by each provider's rules (GCP's lowercase rule; AWS's reserved aws: prefix).
    ("gcp-label-upper", declaration(target="gcp: {}") + "labels:\n  team: Web\n", 10,
     f"labels.team: 'Web' is not a valid label value on gcp (Cloud Functions v2) (allowed: {GCP_LABELS})"),
    ("gcp-label-key", declaration(target="gcp: {}") + "labels:\n  Team: web\n", 10,
     f"labels.Team: the key 'Team' is not a valid label key on gcp (Cloud Functions v2) (allowed: {GCP_LABELS})"),
    ("gcp-label-long", declaration(target="gcp: {}") + f"labels:\n  team: {'a' * 64}\n", 10,
     f"labels.team: '{'a' * 40}'... (64 characters) is not a valid label value on gcp (Cloud Functions v2) "
     f"(allowed: {GCP_LABELS})"),
    ("gcp-labels-count", declaration(target="gcp: {}") + "labels:\n" + "".join(f"  k{i}: v\n" for i in range(61)), 9,
     "labels: 61 labels are more than gcp (Cloud Functions v2) takes beside functions-tui's own (allowed: at most 60)"),
    ("aws-label-prefix", declaration() + "labels:\n  'aws:team': web\n", 10,
     f"labels.aws:team: the key 'aws:team' is not a valid label key on aws (AWS Lambda) (allowed: {AWS_LABELS})"),
    # The first target that refuses it, in the order the file gives them.
    ("two-targets", declaration(memory=20000, target="gcp: {}\n  aws: {}"), 3,
     "memory: 20000 MB is outside what aws (AWS Lambda) allows (allowed: 128 to 10240 MB)"),
]


@pytest.mark.parametrize("text, line, message", [c[1:] for c in REFUSED], ids=[c[0] for c in REFUSED])
def test_add_refuses_what_the_provider_refuses(project, text, line, message):
    path, done, before, after = project(text)
    assert done.returncode == 1, done.stdout + done.stderr
    assert one_line_error(done.stderr) == f"functions-tui: error: {path}:{line}: {message}"
    assert after == before


def test_a_50_mb_env_value_is_refused_by_every_provider(project):
    big = "x" * (50 * 1024 * 1024)
    for target, line, message in [
        ("aws: {}", 5, f"env: {len(big) + 3} bytes of names and values are more than aws (AWS Lambda) takes "
                       "(allowed: at most 4096 bytes in all)"),
        ("gcp: {}", 5, f"env: {len(big) + 3} bytes of names and values are more than gcp (Cloud Functions v2) "
                       "takes (allowed: at most 32768 bytes in all)"),
        ("docker: {}", 6, f"env.BIG: BIG=value is {len(big) + 4} bytes, more than docker (Docker) takes "
                          "(allowed: at most 131071 bytes)"),
    ]:
        path, done, before, after = project(declaration(env=f"BIG: {big}", target=target))
        assert done.returncode == 1
        assert one_line_error(done.stderr) == f"functions-tui: error: {path}:{line}: {message}"
        assert after == before


def test_functions_yaml_names_the_entry(project):
    text = ("functions:\n"
            "  - {name: fine, runtime: python3.12, targets: {aws: {}}}\n"
            "  - name: slow\n"
            "    runtime: python3.12\n"
            "    timeout: 901\n"
            "    targets: {aws: {}}\n")
    path, done, before, after = project(text, file="functions.yaml")
    assert done.returncode == 1
    assert one_line_error(done.stderr) == (
        f"functions-tui: error: {path}:5: functions[1].timeout: 901 s is outside what aws (AWS Lambda) allows "
        "(allowed: 1 to 900 s)")
    assert after == before


ACCEPTED = [
    ("aws-edges", declaration(name="a" * 64, memory=10240, timeout=900, runtime="python3.13")),
    ("aws-low-edges", declaration(memory=128, timeout=1, runtime="nodejs20.x", env="A_B_1: " + "x" * 4000)),
    ("gcp-own-spelling", declaration(runtime="python312", memory=32768, timeout=3600, target="gcp: {}")),
    # One runtime for every target: Lambda's spelling names the same Cloud Functions runtime.
    ("gcp-and-aws-one-runtime", declaration(runtime="python3.11", target="gcp: {}\n  aws: {}")),
    ("gcp-event-edge", declaration(timeout=540, target="gcp: {trigger: pubsub}")),
    ("gcp-underscore", declaration(name="my_func", target="gcp: {}")),
    ("gcp-labels", declaration(target="gcp: {}") + "labels:\n  team: web\n  cost_centre: a-1\n  empty: ''\n"),
    ("aws-labels", declaration() + "labels:\n  Team: Web Front\n  owner: a.b@example.com\n"),
    ("docker-loose", declaration(runtime="cobol85", memory=6, timeout=100000, target="docker: {}")),
    ("no-target", declaration(runtime="cobol85", memory=1, timeout=100000, target="").replace("targets:\n", "")),
]


@pytest.mark.parametrize("text", [c[1] for c in ACCEPTED], ids=[c[0] for c in ACCEPTED])
def test_add_accepts_what_the_providers_take(project, text):
    path, done, before, after = project(text)
    assert done.returncode == 0, done.stderr
    assert after != before


# --- the tables themselves ----------------------------------------------------------------------------

def test_each_component_declares_its_limits_once():
    assert (aws.LIMITS.memory_mb, aws.LIMITS.timeout_s, aws.LIMITS.name_max, aws.LIMITS.env_total_bytes) == (
        (128, 10240), (1, 900), 64, 4096)
    assert (gcp.LIMITS.memory_mb, gcp.LIMITS.timeout_s, gcp.LIMITS.event_timeout_s, gcp.LIMITS.name_max,
            gcp.LIMITS.env_total_bytes, gcp.LIMITS.env_count) == ((128, 32768), (1, 3600), 540, 63, 32768, 1000)
    assert {"python310", "python311", "python312", "nodejs18", "nodejs20"} <= set(gcp.LIMITS.runtimes)
    assert (docker.LIMITS.memory_mb, docker.LIMITS.timeout_s, docker.LIMITS.runtimes) == ((6, None), None, ())
    assert describe(aws.LIMITS)["memory"] == "128 to 10240 MB"
    assert describe(gcp.LIMITS)["timeout"] == "1 to 3600 s (event triggers: at most 540 s)"


def test_runtime_spellings():
    assert runtime_key("python3.12") == runtime_key("python312") == "python312"
    assert runtime_key("nodejs20.x") == runtime_key("nodejs20") == "nodejs20"
    assert runtime_key("go1.22") == "go122"


def test_each_provider_gets_its_own_spelling_of_one_runtime():
    assert [provider_runtime(gcp.LIMITS, r) for r in ("python3.11", "python311", "nodejs20.x", "go1.22")] == [
        "python311", "python311", "nodejs20", "go122"]
    assert [provider_runtime(aws.LIMITS, r) for r in ("python311", "python3.11", "nodejs20", "java17")] == [
        "python3.11", "python3.11", "nodejs20.x", "java17"]
    assert provider_runtime(gcp.LIMITS, "cobol85") == "cobol85"   # add refuses it; a pulled value passes as is


def test_check_lists_every_problem():
    problems = check(aws.LIMITS, "aws", name="hello", runtime="cobol85", memory=1, timeout=0,
                     env={"AWS_REGION": "x"})
    assert [field for field, _ in problems] == ["runtime", "memory", "timeout", "env.AWS_REGION"]


def test_deploy_to_a_new_target_checks_its_limits_first(tmp_path, aws_clean):
    """`deploy --to aws` of a function declared for docker only: its memory is fine for Docker
    and too small for Lambda, so the deploy is refused before anything changes."""
    home = tmp_path / "home"
    env = cli_env(home, **aws_clean.handle.env())
    folder = tmp_path / "tiny"
    folder.mkdir()
    (folder / "main.py").write_text("x = 1\n")
    write_yaml(folder / "function.yaml", declaration(name="tiny", memory=64, target="docker: {}"))
    assert run_cli("add", str(folder), env=env).returncode == 0
    before = registry_bytes(home)
    done = run_cli("deploy", "tiny", "--to", "aws", env=env)
    assert done.returncode == 1
    assert one_line_error(done.stderr) == (
        "functions-tui: error: tiny: cannot deploy to aws: memory: 64 MB is outside what aws (AWS Lambda)"
        " allows (allowed: 128 to 10240 MB)")
    assert registry_bytes(home) == before
    assert aws_clean.client("lambda").list_functions()["Functions"] == []
