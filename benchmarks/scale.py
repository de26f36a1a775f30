"""How `generate` grows with the number of modules, for every spec layout.

    python benchmarks/scale.py [--runs 5] [--sizes 500 1000 2000]

For seed A's layout (chart-style module entries with `kustomize`, no environments) and seed
B's (native modules with `values`), each written in block and in flow style, times
`shipspec generate` as a cold process of an installed shipspec at each size and prints the
median, the peak RSS and the growth exponent between the smallest and the largest size
(1.0 is linear). A spec over the 2,000-module cap is timed too: it must be refused before
the expensive work. And two commands on seed B's block layout that edit a values file of
every module, reading it with both YAML readers: `values --check` against a file that has
every module but none of their tags (the drift a new environment starts with), and
`bump --dry-run` of every module at once (a change to a shared library rebuilds them
all), cloning from a local bare repository. And `plan` (the GitHub Actions job that picks
the modules a push touches) for a push of 20,000 files that no module holds.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import subprocess
import tempfile
from pathlib import Path

from bump import ENV  # git's identity for the commits made here
from run import SPEC_HEADER, install, measure  # benchmarks/run.py: the same install, timing


def seed_a(name: str, flow: bool) -> list[str]:
    fields = {"enabled": "true", "gitBranch": f"dev-{name}", "moduleName": f"app-{name}",
              "dockerfileName": f"dockerfile-{name}",
              "kustomize": f"{{branch: dev, directory: {name}/overlays/dev, "
                           f"deploymentName: dev-{name}}}"}
    if flow:
        return [f"  {name}: {{{', '.join(f'{k}: {v}' for k, v in fields.items())}}}"]
    return [f"  {name}:", *(f"    {key}: {value}" for key, value in fields.items())]


def seed_b(name: str, flow: bool) -> list[str]:
    fields = {"paths": f"[services/{name}/, libs/common/]",
              "dockerfile": f"services/{name}/Dockerfile", "values": f"apps.{name}"}
    if flow:
        return [f"  {name}: {{{', '.join(f'{k}: {v}' for k, v in fields.items())}}}"]
    return [f"  {name}:", *(f"    {key}: {value}" for key, value in fields.items())]


LAYOUTS = {
    "seed A, block": (seed_a, False), "seed A, flow": (seed_a, True),
    "seed B, block": (seed_b, False), "seed B, flow": (seed_b, True),
}


def spec(directory: Path, layout: str, modules: int) -> Path:
    entry, flow = LAYOUTS[layout]
    lines = list(SPEC_HEADER)
    if entry is seed_b:
        lines += ["environments:", "  stage: {branch: main, values: env/stage.yaml}"]
    lines.append("modules:")
    for index in range(modules):
        lines += entry(f"m{index:05d}", flow)
    target = directory / f"{layout.replace(', ', '-').replace(' ', '')}-{modules}"
    target.mkdir(exist_ok=True)  # the values check reuses seed B's block specs
    (target / ".git").mkdir(exist_ok=True)
    (target / "shipspec.yaml").write_text("\n".join(lines) + "\n")
    return target


def bump_every_module(shipspec: str, scratch: Path, size: int,
                      runs: int) -> tuple[int, float, int]:
    """(size, median ms, peak KiB) of one `bump --dry-run` of all of seed B's modules."""
    path = spec(scratch, "seed B, block", size)
    work, bare = path / "deployment", path / "deployment.git"
    (work / "env").mkdir(parents=True, exist_ok=True)
    (work / "env" / "stage.yaml").write_text("apps:\n" + "".join(
        f"  m{index:05d}:\n    repository: ghcr.io/o/m{index:05d}\n    imageTag: old\n"
        for index in range(size)))
    for command in (["git", "init", "--quiet", "--initial-branch=main", str(work)],
                    ["git", "-C", str(work), "add", "."],
                    ["git", "-C", str(work), "commit", "--quiet", "-m", "values"],
                    ["git", "clone", "--quiet", "--bare", str(work), str(bare)]):
        subprocess.run(command, check=True, env=ENV)
    modules = [argument for index in range(size) for argument in ("--module", f"m{index:05d}")]
    median, _, _, peak = measure([shipspec, "bump", str(path), *modules, "--tag", "new",
                                  "--dry-run", "--repo", f"file://{bare}"], runs, env=ENV)
    return size, median, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--sizes", type=int, nargs="+", default=[500, 1000, 2000])
    args = parser.parse_args()
    sizes = sorted(args.sizes)
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        shipspec = str(install(Path(scratch)).with_name("shipspec"))
        for layout in LAYOUTS:
            timings = []
            for size in sizes:
                path = spec(Path(scratch), layout, size)
                median, _, _, peak = measure([shipspec, "generate", str(path)], args.runs)
                timings.append((size, median, peak))
            rows.append((f"generate, {layout}", timings))
        drift = []
        for size in sizes:
            path = spec(Path(scratch), "seed B, block", size)
            (path / "env").mkdir(exist_ok=True)
            (path / "env" / "stage.yaml").write_text("apps:\n" + "".join(
                f"  m{index:05d}:\n    repository: ghcr.io/o/m{index:05d}\n"
                for index in range(size)))
            median, _, _, peak = measure([shipspec, "values", str(path), "--env", "stage",
                                          "--check", str(path / "env" / "stage.yaml")],
                                         args.runs, expect_failure=True)
            drift.append((size, median, peak))
        rows.append(("values --check, seed B, block, every tag missing", drift))
        rows.append(("bump --dry-run, seed B, block, every module",
                     [bump_every_module(shipspec, Path(scratch), size, args.runs)
                      for size in sizes]))
        changed = Path(scratch) / "changed-files"
        changed.write_text("".join(f"docs/page{index}.md\n" for index in range(20_000)))
        planned = []
        for size in sizes:
            median, _, _, peak = measure(
                [shipspec, "plan", str(spec(Path(scratch), "seed B, block", size)),
                 "--repository", "o/mono", "--branch", "main", "--sha", "0" * 40,
                 "--changed-files", str(changed)], args.runs)
            planned.append((size, median, peak))
        rows.append(("plan, seed B, block, 20,000 files changed outside every module",
                     planned))
        refused = spec(Path(scratch), "seed A, block", 10_000)
        over = measure([shipspec, "generate", str(refused)], args.runs, expect_failure=True)
    print(f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}; median of {args.runs} cold runs.\n")
    print("| command, layout | " + " | ".join(f"{size} modules" for size in sizes)
          + f" | exponent {sizes[0]}-{sizes[-1]} |")
    print("|---|" + "---|" * len(sizes) + "---|")
    for label, timings in rows:
        (small, first, _), (large, last, _) = timings[0], timings[-1]
        exponent = math.log(last / first) / math.log(large / small)
        cells = " | ".join(f"{median / 1000:.2f} s, {peak / 1024:.0f} MiB"
                           for _, median, peak in timings)
        print(f"| {label} | {cells} | {exponent:.2f} |")
    print(f"\n10,000 modules (over the cap), refused in {over[0] / 1000:.2f} s.")


if __name__ == "__main__":
    main()
