"""SIGTERM stops a command that changes the deployment repository as Ctrl-C does: its
cleanups run.

SIGTERM is how a cancelled run is stopped: Kubernetes sends it when it deletes the pod of
a Tekton step, and Tekton's entrypoint passes it to the step's process group
(tektoncd/pipeline v1.15, cmd/entrypoint/runner.go); timeout(1) sends it too. Python dies
of it at once by default: a bump waiting in the queue left its change there, for the next
lock holder to write (the cancelled deploy landed later), a lock holder kept the lock until
its lease ran out, and scratch repositories stayed in the temporary directory.

cli/main.py asks for it for the verbs that reach the deployment repository: they start
git, and so have imported `signal` already (subprocess does). The plugin's `generate`
prints nothing before it ends, and Argo CD stops a refresh that ran out of time with
SIGTERM to the plugin's whole process group, helmfile included (v3.5.1,
cmpserver/plugin/plugin.go, runCommand): the Tekton target needs nothing of it (importing
`signal` would cost it a tenth of its start-up), the helmfile target asks for it
(cli/generate.py), since its confined helmfile has a scratch directory to remove.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import NoReturn

from shipspec.errors import Terminated


@contextmanager
def sigterm_cleans_up() -> Iterator[None]:
    """While the block runs, SIGTERM raises Terminated in the main thread; then SIGTERM does
    what it did before (once the verb is done, writing its output, dying of it is fine)."""
    before = signal.signal(signal.SIGTERM, _terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, before)


def _terminate(signum: int, frame: FrameType | None) -> NoReturn:
    # A second SIGTERM does not cut the cleanup short; SIGKILL still ends everything.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise Terminated
