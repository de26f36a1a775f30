"""The image: its size, and the plugin's start inside it against Python's own.

    python benchmarks/image.py [--runs 21] [--image localhost/shipspec:dev]

Needs the image (`bash image/build-local.sh`). Inside one container of it, run as the Argo
CD sidecar is (uid 999, read-only root, no network), times cold processes alternately:
- the floor: the image's Python importing PyYAML (`python -c "import yaml"`);
- `shipspec generate --argocd` on each example, in the environment Argo CD sends.
The timing loop runs inside the container, so podman's own start is not counted. Prints a
Markdown table of medians, ratios to the floor and peak RSS, and the image's size.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CONF = {**os.environ, "CONTAINERS_CONF": str(REPO / "image" / "containers.conf")}

# Runs inside the container: alternate the commands, report medians and peak RSS.
LOOP = """
import json, os, resource, statistics, subprocess, sys, time
commands, runs = json.loads(sys.argv[1]), int(sys.argv[2])
times = {name: [] for name in commands}
peaks = {name: 0 for name in commands}
for _ in range(runs):
    for name, (argv, cwd, env) in commands.items():
        start = time.perf_counter()
        process = subprocess.Popen(argv, cwd=cwd, env={**os.environ, **env},
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(process.pid, 0)
        times[name].append((time.perf_counter() - start) * 1000)
        peaks[name] = max(peaks[name], usage.ru_maxrss)
        if status:
            sys.exit(f"{name} failed: {process.stderr.read().decode()}")
print(json.dumps({name: [statistics.median(times[name]), peaks[name]] for name in commands}))
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--image", default="localhost/shipspec:dev")
    args = parser.parse_args()

    size = int(subprocess.run(["podman", "image", "inspect", "--format", "{{.Size}}",
                               args.image], env=CONF, check=True, capture_output=True,
                              text=True).stdout)
    argocd = {"ARGOCD_APP_NAME": "bench", "ARGOCD_APP_NAMESPACE": "ci",
              "ARGOCD_APP_PARAMETERS": "null", "HOME": "/tmp"}
    commands = {"python -c 'import yaml' (floor)":
                    (["python", "-c", "import yaml"], "/", {})}
    for example in ("gointern-backend", "astrago"):
        commands[f"generate --argocd, {example}"] = (
            ["shipspec", "generate", "--argocd"], f"/examples/{example}",
            {**argocd, "ARGOCD_APP_SOURCE_PATH": example})
    flags = ["--rm", "--network", "none", "--user", "999:999", "--read-only",
             "--cap-drop", "ALL", "--security-opt", "no-new-privileges",
             "--volume", f"{REPO / 'examples'}:/examples:ro", "--tmpfs", "/tmp"]
    out = subprocess.run(["podman", "run", *flags, args.image, "python", "-c", LOOP,
                          json.dumps(commands), str(args.runs)], env=CONF, check=True,
                         capture_output=True, text=True).stdout
    results = json.loads(out)
    floor = next(iter(results.values()))[0]

    print(f"Machine: {platform.machine()}, {os.cpu_count()} cores; image {args.image}, "
          f"{size / 1e6:.0f} MB; median of {args.runs} cold runs inside one container\n")
    print("| command | median | ratio to the floor | peak RSS |")
    print("|---|---|---|---|")
    for name, (median, peak) in results.items():
        print(f"| {name} | {median:.0f} ms | {median / floor:.2f}x | {peak / 1024:.0f} MiB |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
