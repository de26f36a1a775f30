"""The plugin's target helmfile against helmfile alone, per refresh.

    python benchmarks/helmfile.py [--runs 15] [--templates 0 200]

Builds the test deployment repository (tests/fixtures/astrago-deployment) with the example
spec at ci/astrago, optionally with extra templates in the astrago chart so that helmfile
alone takes about as long as a real release, then runs, each as a cold process:
- helmfile alone: `helmfile ... template` for the release astrago;
- shipspec: `shipspec generate --argocd` in the environment Argo CD sends (target helmfile).
Needs the binaries of tests/tools/bin (`bash tests/run` puts them there). Prints a
Markdown table of median wall times and the ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BIN = REPO / "tests" / "tools" / "bin"
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


def checkout(directory: Path, templates: int) -> Path:
    root = directory / "astrago-deployment"
    shutil.copytree(REPO / "tests" / "fixtures" / "astrago-deployment", root)
    (root / ".git").mkdir()
    (root / "ci" / "astrago").mkdir(parents=True)
    shutil.copy(REPO / "examples" / "astrago" / "shipspec.yaml", root / "ci" / "astrago")
    for index in range(templates):
        path = root / "helmfile" / "charts" / "astrago" / "templates" / f"extra-{index}.yaml"
        path.write_text(EXTRA.replace("{index}", str(index)))
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
    parser.add_argument("--templates", type=int, nargs="+", default=[0, 200])
    args = parser.parse_args()
    shipspec = shutil.which("shipspec") or str(REPO / ".venv" / "bin" / "shipspec")
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}; median of {args.runs} cold runs\n")
    print("| release | helmfile alone | shipspec generate --argocd | ratio |")
    print("|---|---|---|---|")
    with tempfile.TemporaryDirectory() as scratch:
        for templates in args.templates:
            root = checkout(Path(scratch) / str(templates), templates)
            env = {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}",
                   "HOME": scratch, "HELMFILE_UPGRADE_NOTICE_DISABLED": "1"}
            alone = median_wall([str(BIN / "helmfile"), "--file",
                                 "helmfile/helmfile.yaml.gotmpl", "--environment", "xiilab",
                                 "--selector", "name=astrago", "template", "--skip-deps",
                                 "--include-crds", "--skip-tests", "--kube-version", "1.31.2"],
                                root, env, args.runs)
            parameters = [{"name": "target", "string": "helmfile"},
                          {"name": "environment", "string": "stage"},
                          {"name": "release", "string": "astrago"}]
            argo = {**env, "ARGOCD_APP_PARAMETERS": json.dumps(parameters),
                    "ARGOCD_APP_SOURCE_PATH": "ci/astrago", "KUBE_VERSION": "1.31.2"}
            plugin = median_wall([shipspec, "generate", "--argocd"], root / "ci" / "astrago",
                                 argo, args.runs)
            print(f"| astrago, {4 + templates} objects | {alone * 1000:.0f} ms | "
                  f"{plugin * 1000:.0f} ms | {plugin / alone:.2f}x |")


if __name__ == "__main__":
    main()
