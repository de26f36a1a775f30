"""The plugin's target helmfile against helmfile alone, per refresh.

    python benchmarks/helmfile.py [--runs 15] [--releases 0:0 40:0 40:100 0:1000]

Builds the test deployment repository (tests/fixtures/astrago-deployment) with the example
spec at ci/astrago, then, for each release shape WORK:OBJECTS, weighs the astrago chart with
WORK templates that keep helm busy and print nothing (as a library subchart's helpers do:
the real astrago chart carries bitnami's mariadb and common) and OBJECTS extra ConfigMaps,
and runs, each as a cold process:
- helmfile alone: `helmfile ... template` for the release astrago;
- a Python that only runs helmfile and prints its output (the floor of any Python plugin);
- shipspec, installed in a fresh venv as the README installs it (bytecode precompiled, as in the
  image): `shipspec generate --argocd` in the environment Argo CD sends (target helmfile),
  after one refresh that wrote its memo, as the sidecar runs it on every later refresh.
Needs the binaries of tests/tools/bin (`bash tests/run` puts them there). Prints a
Markdown table of median wall times and ratios to helmfile alone.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from run import install  # benchmarks/run.py: shipspec installed as users get it

REPO = Path(__file__).resolve().parent.parent
BIN = REPO / "tests" / "tools" / "bin"
WORK = """\
{{- $digest := "" }}
{{- range $i := until 2000 }}{{ $digest = sha256sum (print $digest $i) }}{{- end }}
"""
EXTRA = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: astrago-settings-{index}
data:
{{- range $name := list "core" "batch" "monitor" "frontend" }}
  {{ $name }}: {{ (index $.Values $name).image.tag | quote }}
{{- end }}
"""


# A Python program that only runs helmfile and prints what it printed
FLOOR = ("import subprocess, sys; done = subprocess.run(sys.argv[1:], capture_output=True); "
         "sys.stdout.buffer.write(done.stdout); sys.exit(done.returncode)")


def checkout(directory: Path, work: int, objects: int) -> Path:
    root = directory / "astrago-deployment"
    shutil.copytree(REPO / "tests" / "fixtures" / "astrago-deployment", root)
    (root / ".git").mkdir()
    (root / "ci" / "astrago").mkdir(parents=True)
    shutil.copy(REPO / "examples" / "astrago" / "shipspec.yaml", root / "ci" / "astrago")
    templates = root / "helmfile" / "charts" / "astrago" / "templates"
    for index in range(work):
        (templates / f"work-{index}.yaml").write_text(WORK)
    for index in range(objects):
        (templates / f"extra-{index}.yaml").write_text(EXTRA.replace("{index}", str(index)))
    return root


def median_wall(command: list[str], cwd: Path, env: dict[str, str], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--releases", nargs="+", default=["0:0", "40:0", "40:100", "0:1000"],
                        metavar="WORK:OBJECTS")
    args = parser.parse_args()
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}; median of {args.runs} cold runs\n")
    print("| release (work templates, objects) | helmfile alone | Python running helmfile "
          "| shipspec generate --argocd | shipspec - helmfile |")
    print("|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as scratch:
        shipspec = str(install(Path(scratch)).parent / "shipspec")
        for shape in args.releases:
            work, extra = (int(part) for part in shape.split(":"))
            root = checkout(Path(scratch) / shape.replace(":", "-"), work, extra)
            env = {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}",
                   "HOME": scratch, "HELMFILE_UPGRADE_NOTICE_DISABLED": "1"}
            helmfile = [str(BIN / "helmfile"), "--file", "helmfile/helmfile.yaml.gotmpl",
                        "--environment", "xiilab", "--selector",
                        "name=astrago,namespace=astrago", "template", "--skip-deps",
                        "--include-crds", "--skip-tests", "--kube-version", "1.31.2"]
            alone = median_wall(helmfile, root, env, args.runs)
            floor = median_wall([sys.executable, "-c", FLOOR, *helmfile], root, env, args.runs)
            parameters = [{"name": "target", "string": "helmfile"},
                          {"name": "environment", "string": "stage"},
                          {"name": "release", "string": "astrago"}]
            argo = {**env, "ARGOCD_APP_PARAMETERS": json.dumps(parameters),
                    "ARGOCD_APP_SOURCE_PATH": "ci/astrago", "KUBE_VERSION": "1.31.2"}
            refresh = [shipspec, "generate", "--argocd"]
            median_wall(refresh, root / "ci" / "astrago", argo, 1)  # writes the memo
            plugin = median_wall(refresh, root / "ci" / "astrago", argo, args.runs)
            print(f"| {work}, {4 + extra} | {alone * 1000:.0f} ms | {floor * 1000:.0f} ms "
                  f"({floor / alone:.2f}x) | {plugin * 1000:.0f} ms ({plugin / alone:.2f}x) "
                  f"| {(plugin - alone) * 1000:.0f} ms |")


if __name__ == "__main__":
    main()
