"""How GitHub's runner runs a job in a job container, reimplemented over podman for tests.

Every rule is read from actions/runner at tag v2.336.0 (github.com/actions/runner):

- src/Runner.Worker/ContainerOperationProvider.cs, `MountWellKnownDirectories`: the work
  directory mounted at /__w, externals at /__e (read-only), temp at /__w/_temp, _actions
  and _tool below /__w, `_temp/_github_home` at /github/home (and HOME set to it),
  `_temp/_github_workflow` at /github/workflow; the container's working directory is the
  workspace; its entrypoint `tail -f /dev/null`.
- src/Runner.Worker/Container/DockerCommandManager.cs, `DockerCreate`: `--workdir`, then the
  job's `container.options` as written, `-e` for each variable, `GITHUB_ACTIONS=true`,
  `CI=true`.
- src/Runner.Worker/FileCommandManager.cs, `InitializeFiles`: before every step the runner
  creates an empty file per file command under `_temp/_runner_file_commands` (so they
  belong to the runner's user) and names it in GITHUB_OUTPUT, GITHUB_STATE, GITHUB_ENV,
  GITHUB_PATH, GITHUB_STEP_SUMMARY; `SetOutputFileCommand` reads `name=value` lines and
  `name<<delimiter` blocks.
- src/Runner.Worker/GitHubContext.cs, `GetRuntimeEnvironmentVariables`: each value of the
  github context on its allowlist (sha, ref_name, repository, server_url, workspace, ...)
  reaches every step as GITHUB_<NAME>; `token` is not on it (a step gets it only where
  the workflow passes `${{ github.token }}`).
- src/Runner.Worker/Handlers/ScriptHandler.cs and ScriptHandlerHelpers.cs: a `run:` step is
  written by the runner to `_temp/<guid>.sh` and, in a container with no shell given, run
  as `sh -e <file>`; src/Runner.Worker/Handlers/StepHost.cs, `ContainerStepHost`: through
  `docker exec -i --workdir <workspace> -e NAME... <container> sh -e <file>`, so as the
  container's user.

- src/Runner.Worker/JobExtension.cs, `InitializeJob`: the job message's environment (the
  workflow's `env`, then the job's, each evaluated in turn, a later name winning) becomes
  the job's; src/Runner.Worker/StepsRunner.cs merges it into every step's environment
  before the step's own `env` (`job_in` composes the first half, `run_job` the rest).
- src/Runner.Worker/StepsRunner.cs: when the job is cancelled, the running step's `if` is
  evaluated again and, false (a step without one means `success()`), the step is cancelled;
  each later step runs only if its `if` holds, `cancelled()` being true from then on
  (Expressions/CancelledFunction.cs: the job's status is Cancelled). src/Runner.Sdk/
  ProcessInvoker.cs cancels a step by sending SIGINT to the process it started (SIGTERM
  7.5 s later, then the process tree killed): for a step in a job container, the `docker
  exec` client.

The runner's user on GitHub's hosted runners is uid 1001, as the issue that found the
non-root failure saw (`/__w` owned by 1001).

actions/checkout is a JavaScript action run with the runner's node; neither is here. Its
effects inside the container are replayed by `CHECKOUT` below, from actions/checkout at
tag v7.0.1 (as at v4.2.2; `git init` takes `--object-format=sha256` for a SHA-256
repository only): src/state-helper.ts saves state (`isPost`, `repositoryPath`) through
GITHUB_STATE before anything else; src/git-source-provider.ts `getSource` names the
workspace safe in a temporary global git configuration under RUNNER_TEMP, then `git init`,
`git remote add origin`, `gc.auto 0`, a fetch (src/ref-helper.ts: every branch and tag for
fetch-depth 0, else `+<sha>:refs/remotes/origin/<branch>` at that depth) and
`git checkout --force -B <branch>`; the temporary configuration is removed afterwards.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

from container import PODMAN_ENV, podman, running

RUNNER_UID = 1001
FILE_COMMANDS = {"GITHUB_OUTPUT": "set_output", "GITHUB_STATE": "save_state",
                 "GITHUB_ENV": "set_env", "GITHUB_PATH": "add_path",
                 "GITHUB_STEP_SUMMARY": "step_summary"}
_EXPRESSION = re.compile(r"\$\{\{\s*([A-Za-z0-9_.-]+)\s*\}\}")
_TO_JSON = re.compile(r"\$\{\{\s*toJSON\(([A-Za-z0-9_.-]+)\)\s*\}\}")

CHECKOUT = """\
delimiter="ghadelimiter_$(cat /proc/sys/kernel/random/uuid)"
printf 'isPost<<%s\\ntrue\\n%s\\n' "$delimiter" "$delimiter" >> "$GITHUB_STATE"
temporary_home="$RUNNER_TEMP/$(cat /proc/sys/kernel/random/uuid)"
mkdir "$temporary_home"
if [ -f "$HOME/.gitconfig" ]; then cp "$HOME/.gitconfig" "$temporary_home/"; fi
export HOME="$temporary_home"
git config --global --add safe.directory "$GITHUB_WORKSPACE"
printf 'setSafeDirectory<<%s\\ntrue\\n%s\\n' "$delimiter" "$delimiter" >> "$GITHUB_STATE"
find "$GITHUB_WORKSPACE" -mindepth 1 -delete
printf 'repositoryPath<<%s\\n%s\\n%s\\n' "$delimiter" "$GITHUB_WORKSPACE" "$delimiter" \\
  >> "$GITHUB_STATE"
git init --quiet "$GITHUB_WORKSPACE"
git remote add origin "$CHECKOUT_REPOSITORY"
git config --local gc.auto 0
if [ "$CHECKOUT_FETCH_DEPTH" -le 0 ]; then
  git fetch --quiet --no-tags --prune --no-recurse-submodules origin \\
    '+refs/heads/*:refs/remotes/origin/*' '+refs/tags/*:refs/tags/*'
else
  git fetch --quiet --no-tags --prune --no-recurse-submodules \\
    --depth="$CHECKOUT_FETCH_DEPTH" origin \\
    "+$GITHUB_SHA:refs/remotes/origin/$GITHUB_REF_NAME"
fi
git checkout --quiet --force -B "$GITHUB_REF_NAME" "refs/remotes/origin/$GITHUB_REF_NAME"
rm -rf "$temporary_home"
"""


def job_in(workflow: dict[str, Any], name: str) -> dict[str, Any]:
    """The job `name` as the runner receives it: its `env`, the workflow's with the job's
    own over it."""
    job = workflow["jobs"][name]
    return {**job, "env": {**workflow.get("env", {}), **job.get("env", {})}}


def _owned_by_runner(path: Path) -> Path:
    os.chown(path, RUNNER_UID, RUNNER_UID)
    return path


def _runner_dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return _owned_by_runner(path)


class JobContainer:
    """One job's container, laid out as the runner lays it out on `root` (the runner's
    directory); `github` is the job's github context."""

    def __init__(self, root: Path, repository: str, github: dict[str, Any]) -> None:
        self.work = _runner_dir(root / "_work")
        self.temp = _runner_dir(self.work / "_temp")
        self.file_commands = _runner_dir(self.temp / "_runner_file_commands")
        name = repository.split("/")[1]
        self.workspace = f"/__w/{name}/{name}"
        _runner_dir(self.work / name / name)
        self.mounts = {
            str(self.work): "/__w", str(_runner_dir(root / "externals")): "/__e:ro",
            str(self.temp): "/__w/_temp", str(_runner_dir(self.work / "_actions")):
                "/__w/_actions", str(_runner_dir(self.work / "_tool")): "/__w/_tool",
            str(_runner_dir(self.temp / "_github_home")): "/github/home",
            str(_runner_dir(self.temp / "_github_workflow")): "/github/workflow",
        }
        self.github = {"workspace": self.workspace, "repository": repository,
                       "server_url": "https://github.com", "token": "ghs_the-jobs-token",
                       **github}
        self.outputs: dict[str, dict[str, str]] = {}  # step id → its outputs
        self.printed: list[str] = []  # what each step that ran to its end printed

    def run_job(self, job: dict[str, Any], contexts: dict[str, Any],
                extra_mounts: dict[str, str], source: str,
                cancel: Cancel | None = None) -> dict[str, str]:
        """Every step of `job`, in order; returns the job's outputs. A failing step fails
        the job: AssertionError with what the step printed. `cancel`: the run is cancelled
        while that step runs."""
        contexts = {**contexts, "github": self.github, "steps": {}}
        options = shlex.split(job["container"].get("options", ""))
        flags = ["--workdir", self.workspace, *options,
                 "--env", "HOME=/github/home", "--env", "GITHUB_ACTIONS=true",
                 "--env", "CI=true"]
        flags += [flag for host, inside in {**self.mounts, **extra_mounts}.items()
                  for flag in ("--volume", f"{host}:{inside}")]
        cancelled = False
        with running(flags, ("tail", "-f", "/dev/null"), image=job["container"]["image"]
                     ) as container:
            for step in job["steps"]:
                if not _runs(step, cancelled):
                    continue
                env = {name: evaluate(value, contexts)
                       for name, value in {**job.get("env", {}),
                                           **step.get("env", {})}.items()}
                if step.get("uses", "").startswith("actions/checkout@"):
                    depth = step.get("with", {}).get("fetch-depth", 1)
                    env |= {"CHECKOUT_REPOSITORY": source,
                            "CHECKOUT_FETCH_DEPTH": str(depth)}
                    script = CHECKOUT
                else:
                    script = step["run"]
                if cancel is not None and step.get("name") == cancel.step:
                    # the step's own `if` is evaluated again, and holds for none here
                    assert not _runs(step, cancelled=True), step
                    self._cancel_step(container, script, env, cancel)
                    cancelled = True
                    continue
                outputs = self._run_step(container, script, env)
                if "id" in step:
                    contexts["steps"][step["id"]] = {"outputs": outputs}
        return job_outputs(job, contexts)

    def _cancel_step(self, container: str, script: str, env: dict[str, str],
                     cancel: Cancel) -> None:
        """The step started as _run_step starts it, then cancelled as the runner cancels it
        once `cancel.when()` holds: SIGINT to the `docker exec` client, which ends it."""
        command, _ = self._step_command(container, script, env)
        client = subprocess.Popen(["podman", *command], env=PODMAN_ENV, text=True,
                                  stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 120
            while not cancel.when():
                assert client.poll() is None, f"the step ended first:\n{client.stdout.read()}"
                assert time.monotonic() < deadline, "the step never reached the point asked"
                time.sleep(0.05)
            client.send_signal(signal.SIGINT)
            client.communicate(timeout=30)
        finally:
            if client.poll() is None:
                client.kill()
                client.communicate()
        cancel.after(container)

    def _step_command(self, container: str, script: str,
                      env: dict[str, str]) -> tuple[list[str], dict[str, Path]]:
        """podman's arguments that run `script` as the runner runs a step, and the file
        commands' files made for it."""
        suffix = uuid.uuid4().hex
        files = {}
        for variable, prefix in FILE_COMMANDS.items():
            path = self.file_commands / f"{prefix}_{suffix}"
            path.touch(mode=0o644)
            files[variable] = _owned_by_runner(path)
        script_file = self.temp / f"{uuid.uuid4()}.sh"
        script_file.write_text(script)
        _owned_by_runner(script_file)
        environment = {
            "GITHUB_SHA": self.github["sha"], "GITHUB_REF_NAME": self.github["ref_name"],
            "GITHUB_REPOSITORY": self.github["repository"],
            "GITHUB_SERVER_URL": self.github["server_url"],
            "GITHUB_WORKSPACE": self.workspace, "RUNNER_TEMP": "/__w/_temp",
            **{variable: f"/__w/_temp/_runner_file_commands/{path.name}"
               for variable, path in files.items()},
            **env,
        }
        flags = [flag for name, value in environment.items()
                 for flag in ("--env", f"{name}={value}")]
        return (["exec", "-i", "--workdir", self.workspace, *flags, container,
                 "sh", "-e", f"/__w/_temp/{script_file.name}"], files)

    def _run_step(self, container: str, script: str, env: dict[str, str]) -> dict[str, str]:
        command, files = self._step_command(container, script, env)
        result = podman(*command, check=False)
        assert result.returncode == 0, f"step failed ({result.returncode}):\n{result.stdout}" \
                                       f"\n{result.stderr}"
        self.printed.append(result.stdout)
        return file_command_values(files["GITHUB_OUTPUT"].read_text())


class Cancel(NamedTuple):
    """The run cancelled while the step named `step` runs, once `when()` holds; `after` is
    called with the container's name when the runner has cancelled the step."""
    step: str
    when: Callable[[], bool]
    after: Callable[[str], None] = lambda container: None


def _runs(step: dict[str, Any], cancelled: bool) -> bool:
    """Whether the runner runs `step`: the conditions the generated workflows give steps."""
    condition = step.get("if")
    if condition is None:  # success()
        return not cancelled
    assert condition == "${{ cancelled() }}", f"no emulation of the condition {condition!r}"
    return cancelled


def job_outputs(job: dict[str, Any], contexts: dict[str, Any]) -> dict[str, str]:
    """The outputs the runner sends when a job ends: each evaluated, and those that come out
    empty left out (src/Runner.Worker/JobExtension.cs, "Skip output ... since it's empty"),
    so that a leg of a matrix sends only what it set."""
    evaluated = {name: evaluate(value, contexts)
                 for name, value in job.get("outputs", {}).items()}
    return {name: value for name, value in evaluated.items() if value}


def evaluate(value: Any, contexts: dict[str, Any]) -> str:
    """The two kinds of expression the plan and deploy jobs use: `${{ a.b.c }}`, a context
    value, and `${{ toJSON(a.b) }}`, a value as JSON (GitHub writes it indented by two)."""
    def find(path: str) -> Any:
        current: Any = contexts
        for part in path.split("."):
            current = current.get(part, "") if isinstance(current, dict) else ""
        return current

    def lookup(found: re.Match[str]) -> str:
        current = find(found.group(1))
        return current if isinstance(current, str) else json.dumps(current)

    def to_json(found: re.Match[str]) -> str:
        return json.dumps(find(found.group(1)) or {}, indent=2)
    return _EXPRESSION.sub(lookup, _TO_JSON.sub(to_json, str(value)))


# "Under 85,000 large object heap threshold": GitHub refuses a workflow with a longer one.
EXPRESSION_MAX_LENGTH = 21000  # src/Sdk/Expressions/ExpressionConstants.cs, MaxLength


def parsed_expression(value: str) -> str | None:
    """The expression GitHub parses for a string of a workflow, if it holds one: as
    src/Sdk/WorkflowParser/ObjectTemplating/TemplateReader.cs `ParseScalar` makes it, a
    string that is one `${{ }}` is that expression, trimmed; one of several, or of text
    around one, becomes a single `format('text {0} text {1}', first, second)`, its text's
    quotes doubled (Sdk/ExpressionUtility.cs `StringEscape`) and braces doubled. The end of
    an expression is the first `}}` outside a quoted string."""
    if "${{" not in value:
        return None
    texts: list[str] = []
    expressions: list[str] = []
    position = 0
    while (start := value.find("${{", position)) >= 0:
        texts.append(value[position:start])
        in_string = False
        end = start + 3
        while end < len(value) and (in_string or value[end - 1:end + 1] != "}}"):
            in_string ^= value[end] == "'"
            end += 1
        assert end < len(value), f"an expression is not closed: {value!r}"
        expressions.append(value[start + 3:end - 1].strip())
        position = end + 1
    texts.append(value[position:])
    if len(expressions) == 1 and not texts[0] and not texts[1]:
        return expressions[0]
    format_text = "".join(
        text.replace("'", "''").replace("{", "{{").replace("}", "}}")
        + (f"{{{index}}}" if index < len(expressions) else "")
        for index, text in enumerate(texts))
    return f"format('{format_text}'" + "".join(f", {e}" for e in expressions) + ")"


def file_command_values(text: str) -> dict[str, str]:
    """What SetOutputFileCommand reads: `name=value` lines and `name<<delimiter` blocks."""
    values: dict[str, str] = {}
    lines = iter(text.splitlines())
    for line in lines:
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            block = []
            for inner in lines:
                if inner == delimiter:
                    break
                block.append(inner)
            values[name] = "\n".join(block)
        elif "=" in line:
            name, value = line.split("=", 1)
            values[name] = value
    return values
