"""Time shipspec commands as cold processes, next to a floor measured in the same run.

    python benchmarks/run.py [--runs 15]

Every command runs as a fresh process, as CI and Argo CD run it, from an installed shipspec
(the README's locked install, which precompiles bytecode as the image does). The floor is
`python -c "import yaml"`: the least any YAML tool in Python can cost. The table printed
(Markdown) is what BENCHMARKS.md records, with the machine it ran on.
"""

from __future__ import annotations

import argparse
import itertools
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


# What every synthetic spec starts with: a Tekton project with all its settings.
SPEC_HEADER = [
    "project: bench",
    "namespace: ci",
    "ci: {images: {shipspec: 'registry.test/shipspec:1@sha256:" + "0" * 64 + "'}}",
    "source: {url: https://github.com/o/mono.git, webhookSecret: hook}",
    "registry: {url: ghcr.io/o}",
    "deploy: {url: https://github.com/o/deploy.git, credentialsSecret: deploy-token}",
]


DISPATCH_LABEL = "plugin: generate --argocd, 200 modules, ci.triggers: dispatch"


def synthetic_spec(directory: Path, modules: int, triggers: str = "modules") -> Path:
    """A spec of `modules` native modules in one mono repo, two environments; the Tekton CI
    of `triggers` (ci.triggers: each module's Triggers, or the project's dispatch)."""
    header = [line.replace("ci: {", f"ci: {{triggers: {triggers}, ")
              for line in SPEC_HEADER] if triggers != "modules" else SPEC_HEADER
    lines = [
        *header,
        "environments:",
        "  stage: {branch: main, values: env/stage.yaml}",
        "  prod: {branch: release, values: env/prod.yaml, tag: '{{ module }}-{{ sha8 }}'}",
        "modules:",
    ]
    for index in range(modules):
        name = f"service-{index:04d}"
        lines += [
            f"  {name}:",
            f"    paths: [services/{name}/, libs/common/]",
            f"    dockerfile: services/{name}/Dockerfile",
            f"    values: apps.{name}",
        ]
    target = directory / (f"modules-{modules}" if triggers == "modules" else
                          f"modules-{modules}-{triggers}")
    target.mkdir()
    (target / ".git").mkdir()
    (target / "shipspec.yaml").write_text("\n".join(lines) + "\n")
    return target


def install(scratch: Path) -> Path:
    """A fresh venv with shipspec installed as users get it (the README's locked install);
    returns its python."""
    venv = scratch / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, "--require-hashes", "-r", str(REPO / "requirements" / "runtime.txt"),
                    "-r", str(REPO / "requirements" / "build.txt")], check=True)
    subprocess.run([*pip, "--no-deps", "--no-build-isolation", str(REPO)], check=True)
    return python


def measure(command: Sequence[str], runs: int, env: dict[str, str] | None = None,
            cwd: Path | None = None, *, expect_failure: bool = False,
            ) -> tuple[float, float, float, int]:
    """Median and minimum wall time (ms), median CPU time (user + system, ms) and the peak
    RSS (KiB) of `command` over `runs`; it must succeed, or fail when `expect_failure`."""
    times: list[float] = []
    cpu: list[float] = []
    peak = 0
    for _ in range(runs):
        # stderr to a file, not a pipe: a command that fails with many errors would fill a
        # pipe no one reads until it exits, and wait for ever
        with tempfile.TemporaryFile() as errors:
            start = time.perf_counter()
            process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=errors,
                                       env=env, cwd=cwd)
            _, status, usage = os.wait4(process.pid, 0)
            times.append((time.perf_counter() - start) * 1000)
            cpu.append((usage.ru_utime + usage.ru_stime) * 1000)
            if (os.waitstatus_to_exitcode(status) != 0) != expect_failure:
                errors.seek(0)
                raise SystemExit(f"{' '.join(command)} exited {status}:\n"
                                 f"{errors.read().decode(errors='replace')}")
        peak = max(peak, usage.ru_maxrss)
    return statistics.median(times), min(times), statistics.median(cpu), peak


def argo_cd_environment(app_dir: Path) -> dict[str, str]:
    """What argocd-cmp-server gives `generate` for `plugin: {name: shipspec-v1}` (no
    parameters); tests/argo_cd.py derives it from Argo CD's source."""
    return {"PATH": os.environ["PATH"], "HOME": "/tmp", "ARGOCD_APP_NAME": "ci",
            "ARGOCD_APP_NAMESPACE": "ci", "ARGOCD_APP_PROJECT_NAME": "default",
            "ARGOCD_APP_REVISION": "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678",
            "ARGOCD_APP_REVISION_SHORT": "a1b2c3d", "ARGOCD_APP_REVISION_SHORT_8": "a1b2c3d4",
            "ARGOCD_APP_SOURCE_REPO_URL": "https://github.com/o/mono.git",
            "ARGOCD_APP_SOURCE_PATH": app_dir.name, "ARGOCD_APP_SOURCE_TARGET_REVISION": "main",
            "KUBE_VERSION": "1.31.2", "KUBE_API_VERSIONS": "v1,apps/v1,tekton.dev/v1",
            "ARGOCD_APP_PARAMETERS": "null"}


def instructions(command: Sequence[str], env: dict[str, str] | None = None,
                 cwd: Path | None = None) -> int | None:
    """CPU instructions of one run, counted by valgrind: unlike wall time, the same every run
    and on a busy machine. None where valgrind is not installed."""
    if shutil.which("valgrind") is None:
        return None
    completed = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *command],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=True, env=env,
        cwd=cwd)
    found = re.search(r"Collected : (\d+)", completed.stderr)
    return int(found.group(1)) if found else None


# The plugin's own way of writing (emit.to_flow_stream): one json encoder call per object.
_WRITE = """
import json, sys
with open(sys.argv[1], encoding="utf-8") as stream:
    objects = [json.loads(line) for line in stream if not line.startswith("---")]
if sys.argv[2] == "write":
    encode = json.JSONEncoder(ensure_ascii=False, allow_nan=False, check_circular=False,
                              separators=(",", ":")).encode
    "".join([f"---\\n{encode(item)}\\n" for item in objects])
"""


def writing_cost(python: str, shipspec: list[str], app_dir: Path,
                 scratch: Path) -> tuple[int, int, int] | None:
    """The objects, bytes and instructions of writing the plugin's output and nothing else:
    counted as a process that reads the output back and writes it, less one that only reads
    it. None where valgrind is not installed."""
    output = subprocess.run([*shipspec, "generate", "--argocd"], capture_output=True,
                            check=True, env=argo_cd_environment(app_dir), cwd=app_dir).stdout
    saved = scratch / "plugin-output.yaml"
    saved.write_bytes(output)
    read_only = instructions([python, "-c", _WRITE, str(saved), "read"])
    read_and_write = instructions([python, "-c", _WRITE, str(saved), "write"])
    if read_only is None or read_and_write is None:
        return None
    return output.count(b"---\n"), len(output), read_and_write - read_only


# The plugin's work (cli/generate.py, `generate --argocd`), stopped after stage N by
# os._exit: the count of stage N less that of N - 1 is what the stage costs.
_STAGES = """
import os, sys
stop = int(sys.argv[1])
def stage(number):
    if number == stop:
        os._exit(0)
from shipspec.pyyaml import yaml
stage(0)
from shipspec import argocd, emit
from shipspec.cli import generate
from shipspec.render import renderer, select_options
from shipspec.specfile.resolve import load_spec
stage(1)
argo = argocd.settings(os.environ)
spec = load_spec(".", root=generate.checkout_root(".", argo))
stage(2)
# the synthetic spec names its namespace and Argo CD passes no parameter: generate's
# namespace and labels are the defaults
rendered = renderer("tekton").render(spec, select_options(spec, None, []))
documents = [item.document for item in rendered]
stage(3)
text = emit.to_flow_stream(documents)
stage(4)
sys.stdout.write(text)
sys.stdout.flush()
stage(5)
"""
PLUGIN_STAGES = ("Python and PyYAML", "shipspec's imports", "reading, checking and resolving "
                 "the spec", "rendering", "writing the objects as text", "printing them")


def plugin_stages(python: str, app_dir: Path) -> list[int] | None:
    """What each of the plugin's stages costs in instructions; None without valgrind."""
    counts = [instructions([python, "-c", _STAGES, str(stop)], argo_cd_environment(app_dir),
                           app_dir) for stop in range(len(PLUGIN_STAGES))]
    if None in counts:
        return None
    totals = [count for count in counts if count is not None]
    return [totals[0]] + [after - before for before, after in itertools.pairwise(totals)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        python = str(install(Path(scratch)))
        # The console script, as Argo CD and CI run it; `python -m` would add runpy's imports.
        shipspec = [str(Path(python).with_name("shipspec"))]
        generated = {n: synthetic_spec(Path(scratch), n) for n in (10, 100, 200, 1000)}
        # the same 200 modules under ci.triggers: dispatch, the shape for a mono repo of many
        dispatching = synthetic_spec(Path(scratch), 200, "dispatch")
        cases: list[tuple[str, list[str]]] = [
            ('floor: python -c "import yaml"', [python, "-c", "import yaml"]),
            ("validate examples/gointern-backend",
             [*shipspec, "validate", str(REPO / "examples/gointern-backend")]),
            ("validate examples/astrago", [*shipspec, "validate", str(REPO / "examples/astrago")]),
        ]
        cases += [(f"validate {n} modules", [*shipspec, "validate", str(path)])
                  for n, path in generated.items()]
        cases += [
            ("generate examples/gointern-backend",
             [*shipspec, "generate", str(REPO / "examples/gointern-backend")]),
            ("generate examples/astrago", [*shipspec, "generate", str(REPO / "examples/astrago")]),
        ]
        cases += [(f"generate {n} modules", [*shipspec, "generate", str(path)])
                  for n, path in generated.items()]
        results = [(label, *measure(command, args.runs)) for label, command in cases]
        # The Argo CD plugin, once per refresh of an Application (cwd = the app's path).
        results.append(("plugin: generate --argocd, 200 modules", *measure(
            [*shipspec, "generate", "--argocd"], args.runs, argo_cd_environment(generated[200]),
            generated[200])))
        results.append((DISPATCH_LABEL, *measure(
            [*shipspec, "generate", "--argocd"], args.runs, argo_cd_environment(dispatching),
            dispatching)))
        counted = [(label, instructions(command)) for label, command in cases[:2]]
        counted.append(("generate examples/gointern-backend", instructions(
            [*shipspec, "generate", str(REPO / "examples/gointern-backend")])))
        # At 100 modules too: the plugin's count grows by the same amount per module, so
        # the two say where it crosses a ratio (goal 6 asks 2.5x at 200).
        plugin = {n: instructions([*shipspec, "generate", "--argocd"],
                                  argo_cd_environment(generated[n]), generated[n])
                  for n in (100, 200)}
        counted += [(f"plugin: generate --argocd, {n} modules", count)
                    for n, count in plugin.items()]
        counted.append((DISPATCH_LABEL, instructions([*shipspec, "generate", "--argocd"],
                                                     argo_cd_environment(dispatching),
                                                     dispatching)))
        writing = writing_cost(python, shipspec, generated[200], Path(scratch))
        stages = plugin_stages(python, generated[200])
    floor = results[0][1]
    print(f"Machine: {platform.machine()}, {os.cpu_count()} cores, "
          f"{platform.python_implementation()} {platform.python_version()}, "
          f"{platform.system()} {platform.release()}; {args.runs} runs each.\n")
    print("| command | median ms | min ms | ratio to floor | CPU ms | peak RSS MiB |")
    print("|---|---:|---:|---:|---:|---:|")
    for label, median, minimum, cpu, peak in results:
        print(f"| {label} | {median:.1f} | {minimum:.1f} | {median / floor:.2f} | "
              f"{cpu:.1f} | {peak / 1024:.1f} |")
    floor_count = counted[0][1]
    if floor_count:
        print("\n| command (instructions counted by valgrind) | instructions | "
              "ratio to floor |")
        print("|---|---:|---:|")
        for label, count in counted:
            shown = f"{count:,} | {count / floor_count:.2f}" if count else "not counted | "
            print(f"| {label} | {shown} |")
        if writing:
            objects, size, cost = writing
            print(f"| floor + only writing the plugin's {objects:,} objects ({size / 1e6:.1f} MB)"
                  f" with the json encoder | {floor_count + cost:,} | "
                  f"{(floor_count + cost) / floor_count:.2f} |")
            print(f"\nWriting alone costs {cost:,} instructions: 2.5x the floor leaves "
                  f"{2.5 * floor_count - floor_count - cost:,.0f} for the imports, reading, "
                  "checking and rendering of 200 modules.")
        if plugin[100] and plugin[200]:
            per_module = (plugin[200] - plugin[100]) / 100
            print(f"\nThe plugin costs {per_module:,.0f} instructions per module (two "
                  "environments each): 2.5x the floor holds up to "
                  f"{100 + (2.5 * floor_count - plugin[100]) / per_module:.0f} modules.")
        if stages:
            print("\n| the plugin at 200 modules, stage by stage (to os._exit) | instructions "
                  "| of the floor |")
            print("|---|---:|---:|")
            for label, count in zip(PLUGIN_STAGES, stages, strict=True):
                print(f"| {label} | {count:,} | {count / floor_count:.2f} |")


if __name__ == "__main__":
    main()
