"""Time `shipspec bump` against a shell floor, on a big deployment repository made here.

    python benchmarks/bump.py [--runs 7] [--files 20000] [--commits 2000] [--concurrent-runs 3]

The repository has FILES files and COMMITS commits (written with `git fast-import`). The
floor is the cheapest hand-written CI step: a shallow, blob-less, sparse clone of the values
file's directory, `sed`, `git commit`, `git push`. Both run in the same way, alternately,
against the same bare repository over file://, which serves blob filters as GitHub does.
Then 16 bumps of 16 different modules start at once and are timed against one bump run just
before each race: queued as shipspec does by default, and pushed directly (--no-queue) for
comparison; beside them, the floor of that ratio: 16 Python starts at once (importing
PyYAML, as every bump must), then one bump. Then queued on a mono repo's values file of 200
modules (which the lock holder writes every request into); over HTTP (git http-backend),
with and without a round trip before each request is answered; and last once the repository
holds the refs of 10,000 pull requests.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).parent))
from run import install  # noqa: E402 - the same fresh install as the generate benchmark

sys.path.insert(0, str(REPO / "tests"))
from gitserver import add_pull_request_refs  # noqa: E402 - the tests' GitHub-like refs

MODULES = 16
PULL_REQUESTS = 10_000  # a deployment repository that takes its changes as pull requests
VALUES = "helmfile/environments/customers/bench/values.yaml"
# A mono repo's values file: 200 modules, each with the keys a chart reads besides its image.
MONO_MODULES = 200
MONO_VALUES = "helmfile/environments/customers/mono/values.yaml"
ENV = {**os.environ, "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.com",
       "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@example.com"}
# Over HTTP, bumps send a token, as to a forge; the server answers each request after
# ROUND_TRIP seconds, a runner's round trip to a forge near it.
HTTP_TOKEN = "bench-token"
ROUND_TRIP = 0.03

FLOOR = """\
set -eu
git clone --quiet --depth 1 --single-branch --branch main --filter=blob:none --sparse \
  "file://$BARE" "$WORK"
cd "$WORK"
git sparse-checkout set "$(dirname "$VALUES")"
sed -i "s/^    imageTag: .*# m00$/    imageTag: $TAG # m00/" "$VALUES"
git commit --quiet -am "deploy: m00=$TAG"
git push --quiet origin HEAD:main
"""


def values_text(tag: str) -> str:
    return "apps:\n" + "".join(f"  m{i:02d}:\n    repository: r\n    imageTag: {tag} # m{i:02d}\n"
                               for i in range(MODULES))


def mono_values_text() -> str:
    return "apps:\n" + "".join(
        f"  m{i:02d}:\n    repository: ghcr.io/o/m{i:02d}  # built by CI\n    imageTag: t0\n"
        "    replicas: 2\n    resources: {limits: {cpu: 500m, memory: 1Gi}}\n"
        for i in range(MONO_MODULES))


def build_repository(root: Path, files: int, commits: int) -> Path:
    """A bare repository with `files` files and `commits` commits, via git fast-import."""
    bare = root / "deploy.git"
    subprocess.run(["git", "init", "--quiet", "--bare", "--initial-branch=main", str(bare)],
                   check=True)
    subprocess.run(["git", "--git-dir", str(bare), "config", "uploadpack.allowFilter", "true"],
                   check=True)
    lines: list[bytes] = []

    def blob(text: str) -> bytes:
        data = text.encode()
        return b"data %d\n%s\n" % (len(data), data)

    for number in range(1, commits + 1):
        lines.append(b"commit refs/heads/main\n")
        lines.append(b"committer bench <bench@example.com> %d +0000\n" % (1700000000 + number))
        lines.append(blob(f"change {number}"))
        if number == 1:
            for index in range(files - 1):
                path = f"apps/app{index // 100:03d}/service{index % 100:02d}/values.yaml"
                lines.append(f"M 100644 inline {path}\n".encode() + blob(f"replicas: {index}\n"))
            lines.append(f"M 100644 inline {VALUES}\n".encode() + blob(values_text("t0")))
            lines.append(f"M 100644 inline {MONO_VALUES}\n".encode()
                         + blob(mono_values_text()))
        else:
            index = (number * 7919) % (files - 1)
            path = f"apps/app{index // 100:03d}/service{index % 100:02d}/values.yaml"
            lines.append(f"M 100644 inline {path}\n".encode() + blob(f"replicas: {number}\n"))
    subprocess.run(["git", "--git-dir", str(bare), "fast-import", "--quiet"],
                   input=b"".join(lines), check=True)
    return bare


def spec_directory(root: Path, name: str = "spec", values: str = VALUES,
                   modules_count: int = MODULES) -> Path:
    directory = root / name
    (directory / ".git").mkdir(parents=True)
    modules = "".join(f"  m{i:02d}: {{values: apps.m{i:02d}}}\n" for i in range(modules_count))
    (directory / "shipspec.yaml").write_text(
        "project: bench\nregistry: {url: ghcr.io/o}\nci: {engine: github-actions}\n"
        "source: {url: https://github.com/o/app.git}\n"
        "deploy: {url: https://github.com/o/deploy.git}\n"
        f"environments: {{prod: {{branch: main, values: {values}}}}}\nmodules:\n{modules}")
    return directory


# The tests' git server over HTTP (tests/gitserver.py), run until its standard input closes.
_HTTP_SERVER = """
import sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from gitserver import git_http_server
with git_http_server(Path(sys.argv[2]), "x-access-token", sys.argv[3],
                     delay=float(sys.argv[4])) as base:
    print(base, flush=True)
    sys.stdin.read()
"""


@contextmanager
def http_server(root: Path, delay: float) -> Iterator[str]:
    """The bare repositories below `root` over HTTP, from a process of its own (at_once waits
    for any child of this one); each request answered after `delay` seconds. Yields the
    base URL."""
    server = subprocess.Popen([sys.executable, "-c", _HTTP_SERVER, str(REPO / "tests"),
                               str(root), HTTP_TOKEN, str(delay)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert server.stdout is not None
    try:
        yield server.stdout.readline().strip()
    finally:
        server.communicate()


def timed(command: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def one_bump(shipspec: str, spec: Path, url: str, tag: str, module: str = "m01",
             env: dict[str, str] = ENV) -> float:
    """Wall seconds of one bump of `module` to `tag`, alone."""
    return timed([shipspec, "bump", str(spec), "--module", module, "--tag", tag,
                  "--repo", url], env)


class Race(NamedTuple):
    wall: float  # until the last bump ended
    first: float  # until the first ended: the lock holder, or a waiter that read its receipt
    cpu: list[float]  # of each bump, with its git processes and the git server's, sorted


def at_once(shipspec: str, spec: Path, url: str, run: int, extra: list[str],
            env: dict[str, str] = ENV) -> Race:
    """MODULES bumps of MODULES modules of one file, started together."""
    start = time.perf_counter()
    processes = [subprocess.Popen([shipspec, "bump", str(spec), "--module", f"m{i:02d}",
                                   "--tag", f"race-{run}-{i:02d}", "--repo", url, *extra],
                                  env=env, stdout=subprocess.DEVNULL)
                 for i in range(MODULES)]
    running = {process.pid: process for process in processes}
    cpu, ended = [], []
    while running:
        # wait4 tells each bump's CPU apart (its git processes, and the server's that they
        # start over file://, are its children): the lock holder's from the waiters'. In
        # the order they end: after the batch lands, the last waiters end only when their
        # next poll comes.
        pid, status, usage = os.wait4(-1, 0)
        ended.append(time.perf_counter() - start)
        running.pop(pid).returncode = os.waitstatus_to_exitcode(status)
        cpu.append(usage.ru_utime + usage.ru_stime)
    codes = [process.returncode for process in processes]
    assert codes == [0] * MODULES, codes
    return Race(ended[-1], ended[0], sorted(cpu))


def starts_at_once(python: str) -> float:
    """Wall seconds of MODULES cold starts of Python importing PyYAML, started together:
    what MODULES bumps cost before they do anything, the part of the ratio no protocol
    can remove."""
    start = time.perf_counter()
    processes = [subprocess.Popen([python, "-c", "import yaml"]) for _ in range(MODULES)]
    assert [process.wait() for process in processes] == [0] * MODULES
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--files", type=int, default=20_000)
    parser.add_argument("--commits", type=int, default=2_000)
    parser.add_argument("--concurrent-runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        started = time.perf_counter()
        bare = build_repository(root, args.files, args.commits)
        made = time.perf_counter() - started
        python = install(root)
        shipspec = str(python.with_name("shipspec"))
        spec = spec_directory(root)
        local = f"file://{bare}"
        floor_times, bump_times = [], []
        for run in range(args.runs):
            work = root / f"floor-{run}"
            floor_times.append(timed(["bash", "-c", FLOOR], {
                **ENV, "BARE": str(bare), "WORK": str(work), "TAG": f"floor-{run}",
                "VALUES": VALUES}))
            bump_times.append(one_bump(shipspec, spec, local, f"bump-{run}"))
        starts = statistics.median(starts_at_once(str(python)) for _ in range(args.runs))
        # The races' ratio is to one bump timed just before each race, not to those above:
        # the machine's speed drifts over a run by more than the goal's margin.
        beside_races: list[float] = []
        concurrent: dict[str, list[Race]] = {}
        for name, extra in (("queued (default)", []), ("direct, --no-queue", ["--no-queue"])):
            concurrent[name] = []
            for run in range(args.concurrent_runs):
                beside_races.append(one_bump(shipspec, spec, local,
                                             f"beside-{len(beside_races)}"))
                concurrent[name].append(at_once(shipspec, spec, local, run, extra))
        # The same race on a mono repo's values file: the lock holder writes 16 requests
        # into a file that takes both YAML readers ~60 ms each to check.
        mono = spec_directory(root, "mono", MONO_VALUES, MONO_MODULES)
        mono_one = statistics.median(
            one_bump(shipspec, mono, local, f"mono-{run}", module="m150")
            for run in range(args.runs))
        mono_races = [at_once(shipspec, mono, local, 100 + run, [])
                      for run in range(args.concurrent_runs)]
        # Over HTTP, as bumps reach a forge: git http-backend speaking protocol v2, each
        # request answered at once or after a round trip (the TCP and TLS handshakes of new
        # connections are not modelled).
        http_env = {**ENV, "DEPLOY_TOKEN": HTTP_TOKEN}
        over_http = {}
        for number, delay in enumerate((0.0, ROUND_TRIP)):
            with http_server(root, delay) as base:
                url = f"{base}/{bare.name}"
                http_one = statistics.median(
                    one_bump(shipspec, spec, url, f"http-{number}-{run}", env=http_env)
                    for run in range(args.runs))
                over_http[delay] = (http_one, [
                    at_once(shipspec, spec, url, 200 + 100 * number + run, [], http_env)
                    for run in range(args.concurrent_runs)])
        add_pull_request_refs(bare, PULL_REQUESTS)
        crowded_one = statistics.median(
            one_bump(shipspec, spec, local, f"crowded-{run}") for run in range(args.runs))
        crowded = [at_once(shipspec, spec, local, args.concurrent_runs + run, [])
                   for run in range(args.concurrent_runs)]
        # Every bump above was a commit to the values file: `history` (and `rollback`,
        # which reads it) reads each of its versions, from a clone without blobs.
        versions = len(subprocess.run(
            ["git", "--git-dir", str(bare), "log", "--format=%H", "main", "--", VALUES],
            capture_output=True, check=True, text=True).stdout.split())
        history = statistics.median(
            timed([shipspec, "history", str(spec), "--module", "m01", "--repo", local], ENV)
            for _ in range(args.runs))
    floor = statistics.median(floor_times)
    one = statistics.median(bump_times)
    one_beside = statistics.median(beside_races)
    git_version = subprocess.run(["git", "--version"], capture_output=True, check=True,
                                 text=True).stdout.split()[-1]
    print(f"Machine: {platform.machine()}, {os.cpu_count()} cores, "
          f"{platform.python_implementation()} {platform.python_version()}; "
          f"git {git_version}; "
          f"repository: {args.files} files, {args.commits} commits (made in {made:.1f} s); "
          f"{args.runs} runs each.\n")
    print("| what | median s | min s | ratio |")
    print("|---|---:|---:|---:|")
    print(f"| floor: sparse clone, sed, commit, push | {floor:.3f} | {min(floor_times):.3f} "
          "| 1.00 |")
    print(f"| shipspec bump (one module) | {one:.3f} | {min(bump_times):.3f} | "
          f"{one / floor:.2f} |")
    print(f"\n{MODULES} bumps of {MODULES} modules of one file, started together "
          f"({args.concurrent_runs} runs each; CPU: ours, git's and the git server's; the "
          "bump that used most is the lock holder when one batch wrote all):\n")
    print("| what | median s | min s | ratio to one bump | first ended, median s | median "
          "CPU s | most CPU of one bump, s | median CPU of the others, s |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    print(f"| one bump, just before each race | {one_beside:.3f} | {min(beside_races):.3f} "
          "| 1.00 | | | | |")
    print(f"| floor: {MODULES} starts of python -c 'import yaml' at once, then one bump | "
          f"{starts + one_beside:.3f} | | {(starts + one_beside) / one_beside:.2f} | | | | |")
    for name, races in concurrent.items():
        walls = [race.wall for race in races]
        total = statistics.median(sum(race.cpu) for race in races)
        most = statistics.median(race.cpu[-1] for race in races)
        others = statistics.median(statistics.median(race.cpu[:-1]) for race in races)
        print(f"| {MODULES} bumps at once, {name} | {statistics.median(walls):.3f} | "
              f"{min(walls):.3f} | {statistics.median(walls) / one_beside:.2f} | "
              f"{statistics.median(race.first for race in races):.3f} | {total:.1f} | "
              f"{most:.3f} | {others:.3f} |")
    mono_wall = statistics.median(race.wall for race in mono_races)
    print(f"\nThe same, on a mono repo's values file of {MONO_MODULES} modules (five keys "
          "each):\n")
    print("| what | median s | ratio to one bump there | median CPU s | most CPU of one "
          "bump, s |")
    print("|---|---:|---:|---:|---:|")
    print(f"| shipspec bump (one module) | {mono_one:.3f} | 1.00 | | |")
    print(f"| {MODULES} bumps at once, queued | {mono_wall:.3f} | {mono_wall / mono_one:.2f} | "
          f"{statistics.median(sum(race.cpu) for race in mono_races):.1f} | "
          f"{statistics.median(race.cpu[-1] for race in mono_races):.3f} |")
    print(f"\nThe same over HTTP ({MODULES} at once, queued; the CPU of the bumps and their "
          "git processes, not the server's):\n")
    print("| before each request is answered | one bump, median s | 16 at once, median s | "
          "ratio to one bump | median CPU s |")
    print("|---|---:|---:|---:|---:|")
    for delay, (http_one, races) in over_http.items():
        http_wall = statistics.median(race.wall for race in races)
        print(f"| {delay * 1000:.0f} ms | {http_one:.3f} | {http_wall:.3f} | "
              f"{http_wall / http_one:.2f} | "
              f"{statistics.median(sum(race.cpu) for race in races):.1f} |")
    # A repository that keeps many refs makes each bump dearer, however it waits: a first
    # listing of the queue gets them all (ls-remote sends no ref-prefix), and every push
    # reads them on the server, if only to hide them.
    print(f"\nThe same repository with the refs of {PULL_REQUESTS:,} pull requests "
          f"({2 * PULL_REQUESTS:,} refs, as GitHub keeps them):\n")
    print("| what | median s | ratio to one bump there | median CPU s |")
    print("|---|---:|---:|---:|")
    print(f"| shipspec bump (one module) | {crowded_one:.3f} | 1.00 | |")
    crowded_wall = statistics.median(race.wall for race in crowded)
    print(f"| {MODULES} bumps at once, queued | {crowded_wall:.3f} | "
          f"{crowded_wall / crowded_one:.2f} | "
          f"{statistics.median(sum(race.cpu) for race in crowded):.1f} |")
    print(f"\n`shipspec history` of a module whose values file has {versions} versions: "
          f"{history:.3f} s.")


if __name__ == "__main__":
    main()
