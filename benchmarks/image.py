"""The image: its size, and the plugin's start inside it against Python's own.

    python benchmarks/image.py [--runs 21] [--image localhost/shipspec:dev] [--instructions]

Needs the image (`bash image/build-local.sh`). Inside one container of it, run as the Argo
CD sidecar is (uid 999, read-only root, no network), times cold processes alternately:
- the floor: the image's Python importing PyYAML (`python -c "import yaml"`);
- `shipspec generate --argocd` on each example, and on run.py's spec of 200 modules (goal
  6 of the speed issue, measured with the Python that ships), with each module's Triggers
  and with ci.triggers: dispatch, in the environment Argo CD sends.
The timing loop runs inside the container, so podman's own start is not counted. Prints a
Markdown table of medians, ratios to the floor and peak RSS, and the image's size.
`--instructions` also counts the floor's and the 200 modules' (both) CPU instructions with
valgrind, installed from Debian's archive into a throwaway container of the image (it needs
the network; the image itself has no valgrind).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shlex
import subprocess
import tempfile
from pathlib import Path

from run import synthetic_spec

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


Command = tuple[list[str], str, dict[str, str]]  # argv, working directory, environment


def _instructions(image: str, flags: list[str], commands: dict[str, Command]) -> dict[str, int]:
    """Each command's CPU instructions, counted once by valgrind's callgrind as the
    sidecar's user, in a container of `image` that has installed valgrind."""
    counts = " && ".join(
        f"cd {shlex.quote(cwd)} && setpriv --reuid 999 --regid 999 --clear-groups env "
        + shlex.join([f"{name}={value}" for name, value in env.items()])
        + " valgrind --tool=callgrind --callgrind-out-file=/dev/null "
        + shlex.join(argv) + " 2>&1 >/dev/null | grep 'Collected :'"
        for argv, cwd, env in commands.values())
    out = subprocess.run(
        ["podman", "run", "--rm", "--network", "host", "--user", "0:0", *flags, image,
         "sh", "-c",
         "apt-get update -qq && apt-get install -y -qq --no-install-recommends valgrind "
         f">/dev/null && {counts}"], env=CONF, check=True, capture_output=True,
        text=True).stdout
    found = [int(count) for count in re.findall(r"Collected : (\d+)", out)]
    return dict(zip(commands, found, strict=True))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--image", default="localhost/shipspec:dev")
    parser.add_argument("--instructions", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        synthetic_spec(Path(scratch), 200)
        synthetic_spec(Path(scratch), 200, "dispatch")
        os.chmod(scratch, 0o755)  # the sidecar's user reads it
        return _measure(args, Path(scratch))


def _measure(args: argparse.Namespace, scratch: Path) -> int:
    size = int(subprocess.run(["podman", "image", "inspect", "--format", "{{.Size}}",
                               args.image], env=CONF, check=True, capture_output=True,
                              text=True).stdout)
    argocd = {"ARGOCD_APP_NAME": "bench", "ARGOCD_APP_NAMESPACE": "ci",
              "ARGOCD_APP_PARAMETERS": "null", "HOME": "/tmp"}
    commands: dict[str, Command] = {
        "python -c 'import yaml' (floor)": (["python", "-c", "import yaml"], "/", {})}
    for example in ("gointern-backend", "astrago"):
        commands[f"generate --argocd, {example}"] = (
            ["shipspec", "generate", "--argocd"], f"/examples/{example}",
            {**argocd, "ARGOCD_APP_SOURCE_PATH": example})
    plugin_200 = "generate --argocd, 200 modules (run.py's spec)"
    commands[plugin_200] = (["shipspec", "generate", "--argocd"], "/bench/modules-200",
                            {**argocd, "ARGOCD_APP_SOURCE_PATH": "modules-200"})
    dispatch_200 = "generate --argocd, 200 modules, ci.triggers: dispatch"
    commands[dispatch_200] = (["shipspec", "generate", "--argocd"],
                              "/bench/modules-200-dispatch",
                              {**argocd, "ARGOCD_APP_SOURCE_PATH": "modules-200-dispatch"})
    volumes = ["--volume", f"{REPO / 'examples'}:/examples:ro",
               "--volume", f"{scratch}:/bench:ro", "--tmpfs", "/tmp"]
    flags = ["--rm", "--network", "none", "--user", "999:999", "--read-only",
             "--cap-drop", "ALL", "--security-opt", "no-new-privileges", *volumes]
    out = subprocess.run(["podman", "run", *flags, args.image, "python", "-c", LOOP,
                          json.dumps(commands), str(args.runs)], env=CONF, check=True,
                         capture_output=True, text=True).stdout
    results = json.loads(out)
    floor = next(iter(results.values()))[0]
    floor_name = next(iter(commands))

    print(f"Machine: {platform.machine()}, {os.cpu_count()} cores; image {args.image}, "
          f"{size / 1e6:.0f} MB; median of {args.runs} cold runs inside one container\n")
    print("| command | median | ratio to the floor | peak RSS |")
    print("|---|---|---|---|")
    for name, (median, peak) in results.items():
        print(f"| {name} | {median:.0f} ms | {median / floor:.2f}x | {peak / 1024:.0f} MiB |")
    if args.instructions:
        counted = _instructions(args.image, volumes, {
            name: commands[name] for name in (floor_name, plugin_200, dispatch_200)})
        print(f"\nInstructions (valgrind, once each): the floor {counted[floor_name]:,}; " +
              "; ".join(f"{name} {counted[name]:,}, {counted[name] / counted[floor_name]:.2f}x"
                        for name in (plugin_200, dispatch_200)) + ".")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
