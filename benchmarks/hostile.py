"""The long hostile run: mutated specs, Argo CD environments, values files and random bytes
through every verb, until the time is up (tests/hostile.py says what counts as a finding).

    python benchmarks/hostile.py [--minutes 10] [--seed N] [--large 0.2] [--keep DIR]

Prints each distinct finding with the command that produced it, and the slowest runs with
the spec each ran on (its shape when it was one of the large specs at the file limit);
--keep copies the slowest run's spec to DIR. Exits 1 when there is a finding.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
import hostile  # tests/ holds the harness the test suite runs too


def spec_directory(command: str, scratch: Path) -> Path | None:
    """The round's spec directory that `command` ran on: its first argument below the
    scratch directory (the spec, or a file in the spec's directory)."""
    for argument in command.split()[1:]:
        path = Path(argument)
        if path.is_relative_to(scratch) and path != scratch:
            directory = scratch / path.relative_to(scratch).parts[0]
            if (directory / "shipspec.yaml").exists():
                return directory
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=int(time.time()))
    parser.add_argument("--large", type=float, default=0.2,
                        help="share of the rounds that write a large spec (default 0.2)")
    parser.add_argument("--keep", type=Path, help="copy the slowest run's spec here")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    deadline = time.monotonic() + args.minutes * 60
    rounds, findings = 0, []
    timings: list[tuple[float, str]] = []
    with tempfile.TemporaryDirectory() as scratch:
        while time.monotonic() < deadline:
            findings += hostile.hostile_round(Path(scratch), rng, large=args.large,
                                              timings=timings)
            rounds += 1
        slowest = sorted(timings, reverse=True)[:5]
        print("| seconds | command | spec |\n|---:|---|---|")
        for seconds, command in slowest:
            spec = spec_directory(command, Path(scratch))
            if spec is None:  # a command run on no spec of the round (an argument's file)
                print(f"| {seconds:.2f} | {command.split()[0]} | ({command}) |")
                continue
            shape = (spec / "shape").read_text() if (spec / "shape").exists() else "mutated"
            size = (spec / "shipspec.yaml").stat().st_size
            print(f"| {seconds:.2f} | {command.split()[0]} | {shape}, {size:,} bytes |")
        kept = spec_directory(slowest[0][1], Path(scratch)) if slowest else None
        if args.keep and kept:
            shutil.copytree(kept, args.keep, dirs_exist_ok=True)
    distinct = sorted(set(findings))
    print(f"\nseed {args.seed}: {rounds} rounds, {len(timings)} runs, {len(distinct)} "
          "distinct findings")
    for finding in distinct:
        print(f"- {finding}")
    return 1 if distinct else 0


if __name__ == "__main__":
    sys.exit(main())
