"""Target `helmfile`: one release of one environment, rendered by the real helmfile, then
checked before Argo CD sees it.

A helmfile repository feeds its charts through helmfile's Go templates (astrago-deployment's
`values/astrago.yaml.gotmpl`), so only helmfile renders it right: `helm template` with the
environment file exits 0 with the chart's defaults. shipspec therefore runs helmfile itself,
without a shell (in the Argo CD plugin, confined by the kernel: confine.py), and fails closed
on everything Argo CD would take for a good render:
- a helmfile error, an unknown environment or a release selector that matches nothing
  (never `--allow-no-matching-release`: empty output makes Argo CD delete everything);
- empty output, or a document without `apiVersion` and `kind`;
- the image check: each module the release deploys must be pulled as
  `<registry>/<image>:<tag in the environment's values file>`. This catches every silent
  mis-render, such as values that never reach the chart or a global registry that wins over
  the module's.
Nothing is injected at sync time: the values file in git is the one source, so a `bump`
commit reaches the cluster with the next refresh.
"""

import os
import re
import subprocess
from typing import TYPE_CHECKING, Any, NamedTuple

from shipspec import __version__
from shipspec.errors import Location, Problem, RuntimeFailure, SpecError, shown
from shipspec.files import read_text
from shipspec.images import canonical_image, split_image, tag_and_digest
from shipspec.paths import SymlinkGuard, relative_path_problem
from shipspec.specfile.schema import DNS_LABEL, HELMFILE_ENVIRONMENT_NAME

if TYPE_CHECKING:  # the plugin starts helmfile before it imports the spec's types
    from shipspec.spec import Environment, Release, Spec

HELMFILE = "helmfile"  # from PATH: the shipspec image installs it beside helm 3
# What Argo CD sends (k8s.io/apimachinery's ParseGeneric(...).String(), such as 1.31.2) and
# what a user types; each API version becomes part of one `--args` string that helmfile
# splits on spaces, so nothing else may pass.
KUBE_VERSION = re.compile(r"v?[0-9]{1,4}\.[0-9]{1,4}(\.[0-9]{1,6})?([-+][0-9A-Za-z.+-]{1,64})?")
API_VERSION = re.compile(r"[A-Za-z0-9][A-Za-z0-9.-]{0,252}(/[A-Za-z0-9.-]{1,253}){0,2}")
# The schema's patterns (specfile/schema.py), checked again before an early start: release
# names and namespaces are DNS labels
LABEL = re.compile(DNS_LABEL[1:-1])
HELMFILE_ENVIRONMENT = re.compile(HELMFILE_ENVIRONMENT_NAME[1:-1])
EARLY_READ_LIMIT = 1 << 20  # of the spec, for its memo
MEMO_READ_LIMIT = 4096
MEMO_ENTRIES = 256  # each names one helmfile run; a few hundred bytes
CONTAINER_LISTS = ("containers", "initContainers", "ephemeralContainers")
ERROR_LINES = 40  # of helmfile's stderr, in the error


class Cluster(NamedTuple):
    """The cluster helm renders for: Argo CD's KUBE_VERSION and KUBE_API_VERSIONS."""

    kube_version: str | None = None
    api_versions: tuple[str, ...] = ()


class Render(NamedTuple):
    text: str  # helmfile's stdout, as it printed it
    documents: list[dict[str, Any]]


def cluster(kube_version: str | None, api_versions: list[str]) -> Cluster:
    """The cluster settings, refused unless each is exactly one version."""
    if kube_version and not KUBE_VERSION.fullmatch(kube_version):
        raise SpecError.single(f"Kubernetes version {shown(kube_version)} is not a version",
                               hint="such as 1.31.2 (Argo CD's KUBE_VERSION)")
    for api_version in api_versions:
        if not API_VERSION.fullmatch(api_version):
            raise SpecError.single(f"API version {shown(api_version)} is not an API version",
                                   hint="such as apps/v1 or apps/v1/Deployment "
                                        "(Argo CD's KUBE_API_VERSIONS, comma-separated)")
    return Cluster(kube_version or None, tuple(dict.fromkeys(api_versions)))


def command(file: str, environment: str, release: str, namespace: str,
            target: Cluster) -> list[str]:
    """helmfile's arguments. The release by its name and namespace: helmfile takes releases
    of one name in several namespaces (pkg/app/app.go, checkDuplicates, keys each by
    namespace, name and kube context) and labels each with both (pkg/state/state.go), in
    v0.166.0, which the image runs, as in v1.7.4; `name=` alone rendered them all into one
    Application, each object without a namespace landing in its destination namespace.
    Never `-n`: a namespace flag rewrites every release's namespace, which breaks `needs:`
    (namespace/name) and the release's own namespace."""
    arguments = [HELMFILE, "--file", file, "--environment", environment,
                 "--selector", f"name={release},namespace={namespace}", "template",
                 "--skip-deps", "--include-crds", "--skip-tests"]
    if target.kube_version:
        arguments += ["--kube-version", target.kube_version]
    if target.api_versions:
        # One flag of comma-separated versions (helm's --api-versions is a string slice, read
        # as CSV), so that the argument is no longer than the KUBE_API_VERSIONS Argo CD could
        # pass: a flag each made it 15 characters an entry longer, past Linux's 128 KiB for
        # one string (MAX_ARG_STRLEN) on clusters of some 2,500 kinds.
        arguments += ["--args", "--api-versions=" + ",".join(target.api_versions)]
    return arguments


class Started(NamedTuple):
    arguments: list[str]  # helmfile's
    root: str
    process: subprocess.Popen[bytes]
    scratch: str | None  # the confined run's HOME and TMPDIR, removed when it ends


# Where helm and helmfile keep files, which a confined run finds in its scratch directory.
_HOMES = ("XDG_CACHE_HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "HELM_CACHE_HOME",
          "HELM_CONFIG_HOME", "HELM_DATA_HOME", "HELM_PLUGINS", "HELM_REGISTRY_CONFIG",
          "HELM_REPOSITORY_CACHE", "HELM_REPOSITORY_CONFIG", "HELMFILE_CACHE_HOME",
          "HELMFILE_TEMPDIR")
# What a confined run may read besides the checkout: the system's own files, which Go's
# runtime, time zones and certificates need (the sidecar holds no secret there).
SYSTEM_DIRECTORIES = ["/etc", "/usr", "/proc", "/sys"]
UNCONFINED = "SHIPSPEC_HELMFILE_UNCONFINED"  # set to 1 in the sidecar to run it as it is


def start(arguments: list[str], root: str, confined: bool = False) -> Started:
    """helmfile, running in `root`; `confined` (the Argo CD plugin), by the kernel to the
    checkout (confine.py), unless the environment says UNCONFINED=1."""
    import shutil

    environ = {**os.environ, "HELMFILE_UPGRADE_NOTICE_DISABLED": "1"}
    program = shutil.which(arguments[0], path=environ.get("PATH"))
    if program is None:
        raise RuntimeFailure(f"error: cannot run {HELMFILE}: No such file or directory (not "
                             "on PATH); the shipspec image has helmfile and helm 3 on PATH")
    scratch = confined_by = restrict_self = None
    if confined and environ.get(UNCONFINED) != "1":
        from shipspec import confine

        scratch, confined_by = _confinement(program, root, environ)
        restrict_self = confine.restrictor(confined_by)
    try:
        process = subprocess.Popen(  # noqa: S603 - an argument list, no shell
            [program, *arguments[1:]], cwd=root, env=environ, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            preexec_fn=restrict_self)  # noqa: PLW1509 - the plugin runs no other thread
    except OSError as err:
        _remove(scratch)
        raise RuntimeFailure(f"error: cannot run {HELMFILE}: {err.strerror}; the shipspec image "
                             "has helmfile and helm 3 on PATH") from None
    except subprocess.SubprocessError:  # restrict_self failed in the child
        _remove(scratch)
        raise RuntimeFailure("error: cannot confine helmfile: landlock_restrict_self "
                             "failed") from None
    finally:
        if confined_by is not None:
            os.close(confined_by)
    return Started(arguments, root, process, scratch)


def _confinement(program: str, root: str, environ: dict[str, str]) -> tuple[str, int]:
    """A scratch directory for helmfile, made its HOME and TMPDIR in `environ`, and the
    Landlock ruleset that holds it to the checkout at `root` and to that directory."""
    import shutil

    from shipspec import confine

    # made as tempfile.mkdtemp makes one, without importing it on every refresh: a random
    # name, created by this mkdir or not at all
    scratch = os.path.join(os.path.abspath(environ.get("TMPDIR") or "/tmp"),  # noqa: S108
                           f"shipspec-helmfile-{os.urandom(8).hex()}")
    try:
        os.mkdir(scratch, 0o700)
    except OSError as err:
        raise RuntimeFailure(f"error: cannot make a directory for helmfile: {scratch}: "
                             f"{err.strerror}") from None
    for name in _HOMES:
        environ.pop(name, None)
    environ.update(HOME=scratch, TMPDIR=scratch)
    helm = shutil.which("helm", path=environ.get("PATH"))
    try:
        return scratch, confine.ruleset(read=[os.path.abspath(root), *SYSTEM_DIRECTORIES],
                                        write=[scratch], device=[os.devnull],
                                        execute=[program] + ([helm] if helm else []))
    except confine.Unavailable as err:
        _remove(scratch)
        raise RuntimeFailure(
            f"error: cannot confine helmfile: {err}: helmfile runs whatever the repository's "
            "helmfile asks (hooks, exec, a postRenderer), so the Argo CD plugin runs it only "
            "confined by Landlock\n  hint: Landlock needs Linux 5.13 or later with landlock "
            "among its security modules (/sys/kernel/security/lsm) and a seccomp profile that "
            f"allows it; else set {UNCONFINED}=1 in the sidecar's environment to run helmfile "
            "unconfined") from None


def finish(started: Started) -> tuple[bytes, bytes]:
    """helmfile's stdout and stderr, once it has ended; stopped first if this is cut short
    (Ctrl-C, or SIGTERM where the caller turns it into Terminated)."""
    try:
        return started.process.communicate()
    except BaseException:
        started.process.kill()
        started.process.wait()
        raise
    finally:
        _remove(started.scratch)


def _remove(scratch: str | None) -> None:
    if scratch is not None:
        import shutil

        shutil.rmtree(scratch, ignore_errors=True)


def stop(started: Started | None) -> None:
    if started is not None and started.process.returncode is None:
        started.process.kill()
        finish(started)


def memo_file(spec_path: str, environment: str | None, release: str | None) -> str | None:
    """Where the helmfile run that this spec's bytes and these parameters resolve to is
    remembered. A plugin refresh finds it with one read and one hash, and starts helmfile
    before importing PyYAML and checking the spec (a refresh costs little more than helmfile
    alone). None when the spec cannot be read."""
    import hashlib
    import json

    spec_file = os.path.join(spec_path, "shipspec.yaml") if os.path.isdir(spec_path) \
        else spec_path
    try:
        with open(spec_file, "rb") as stream:
            content = stream.read(EARLY_READ_LIMIT + 1)
    except OSError:
        return None
    if len(content) > EARLY_READ_LIMIT:
        return None
    asked = json.dumps([__version__, environment, release]).encode()
    directory = os.path.join(os.environ.get("XDG_CACHE_HOME")
                             or os.path.join(os.path.expanduser("~"), ".cache"),
                             "shipspec", "helmfile")
    return os.path.join(directory, hashlib.sha256(asked + b"\0" + content).hexdigest())


def start_remembered(memo: str | None, root: str, target: Cluster,
                     confined: bool = False) -> Started | None:
    """helmfile started as the memo says, before shipspec checks the spec. `render` uses this
    run only if the checked spec asks for the very same arguments. None without a memo."""
    if memo is None:
        return None
    import json

    try:
        with open(memo, encoding="utf-8") as stream:
            file, helmfile_environment, name, namespace = json.loads(
                stream.read(MEMO_READ_LIMIT))
    except (OSError, ValueError, TypeError):  # none yet, or not one of ours
        return None
    # Only what a checked spec could ask for reaches helmfile early.
    if not (isinstance(file, str) and isinstance(helmfile_environment, str)
            and isinstance(name, str) and isinstance(namespace, str)
            and not relative_path_problem(file) and in_checkout(root, file)
            and LABEL.fullmatch(name) and LABEL.fullmatch(namespace)
            and HELMFILE_ENVIRONMENT.fullmatch(helmfile_environment)):
        return None
    return start(command(file, helmfile_environment, name, namespace, target), root,
                 confined)


def remember(memo: str | None, file: str, helmfile_environment: str,
             release: "Release") -> None:
    """Write the memo for the next refresh; keep the newest MEMO_ENTRIES. Failing to write
    costs only speed (a read-only or full disk)."""
    if memo is None:
        return
    import contextlib
    import json
    import tempfile

    directory = os.path.dirname(memo)
    with contextlib.suppress(OSError):
        os.makedirs(directory, mode=0o700, exist_ok=True)
        handle, written = tempfile.mkstemp(dir=directory, prefix=".")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                json.dump([file, helmfile_environment, release.name, release.namespace],
                          stream)
            os.replace(written, memo)  # whole or not at all, when refreshes race
        except OSError:
            os.unlink(written)
            raise
        entries = sorted(os.scandir(directory), key=lambda entry: entry.stat().st_mtime)
        for entry in entries[:-MEMO_ENTRIES]:
            os.unlink(entry.path)


def render(spec: "Spec", environment: str | None, release_name: str | None, root: str,
           target: Cluster, early: Started | None = None, memo: str | None = None,
           confined: bool = False) -> Render:
    """Run helmfile for one release in the deployment checkout at `root`, and check it.
    `early` is the run `start_remembered` began; `memo` is where to remember this one."""
    chosen = choose_environment(spec, environment)
    app = chosen.app
    assert app is not None  # choose_environment returns environments with an app
    release = app.release(release_name, chosen.name)
    if not in_checkout(root, app.helmfile):
        raise SpecError([missing_helmfile(spec, chosen.name, app.helmfile, root)])
    arguments = command(app.helmfile, app.helmfile_environment, release.name,
                        release.namespace, target)
    if early is None or early.arguments != arguments or early.root != root:
        stop(early)
        remember(memo, app.helmfile, app.helmfile_environment, release)
        early = start(arguments, root, confined)
    try:
        expected = expected_images(spec, chosen, release, root)  # while helmfile runs
    except BaseException:
        stop(early)
        raise
    out, errors = finish(early)
    where = (f"release '{release.name}' in namespace '{release.namespace}' of helmfile "
             f"environment '{app.helmfile_environment}'")
    if early.process.returncode != 0:
        said = errors.decode("utf-8", "replace")
        # helmfile's words when the selector matches no release (pkg/app/errors.go,
        # v0.166.0 as v1.7.4)
        unmatched = ""
        if "no releases found that matches" in said:
            import shlex

            unmatched = (f"; `shipspec validate {shlex.quote(spec.file)} --deployment "
                         f"{shlex.quote(root)}` says which releases and namespaces it has")
        raise SpecError.single(f"helmfile failed ({early.process.returncode}) on {where}:\n    "
                               + "\n    ".join(said_lines(said)),
                               hint=f"run it yourself: {' '.join(arguments)}{unmatched}"
                               + confined_hint(early, said))
    text, documents = parse(out, where)
    check_images(documents, expected, where)
    return Render(text, documents)


def _panic(lines: list[str]) -> int | None:
    """The line where a Go panic starts: helmfile panics where a command it runs fails to
    start, or a connection it opens."""
    return next((index for index, line in enumerate(lines) if line.startswith("panic: ")),
                None)


def said_lines(said: str) -> list[str]:
    """The last lines of what helmfile said on stderr; of a Go panic, its message, not its
    goroutines' stacks."""
    lines = said.strip().splitlines()
    panic = _panic(lines)
    if panic is not None:
        stack = next((index for index in range(panic, len(lines))
                      if lines[index].startswith("goroutine ")), len(lines))
        lines = lines[:stack]
    return [line for line in lines if line.strip()][-ERROR_LINES:]


def confined_hint(started: Started, said: str) -> str:
    """Where a confined helmfile was refused something, or crashed on a refusal (helmfile
    0.166's HTTP getter dereferences nil when it cannot connect), say so."""
    if started.scratch is None or not ("permission denied" in said
                                       or _panic(said.splitlines()) is not None):
        return ""
    return ("; helmfile runs confined: it may start helm and nothing else, read the "
            "checkout and the system's directories, and write only a directory of its own "
            "(docs/operations/security.md)")


def in_checkout(root: str, path: str) -> bool:
    """`path` is a file of the checkout, reached without a link that leads out of it."""
    return not SymlinkGuard(root).escapes(path) and os.path.isfile(os.path.join(root, path))


def missing_helmfile(spec: "Spec", environment: str, helmfile: str, root: str) -> Problem:
    return spec.problem(("environments", environment, "app", "helmfile"),
                        f"{helmfile} is not a file in the deployment checkout {root}",
                        "locally, name a checkout of the deployment repository with "
                        "--deployment DIR; in Argo CD, the Application's source must be the "
                        "deployment repository, with shipspec.yaml in it")


def choose_environment(spec: "Spec", name: str | None) -> "Environment":
    """The environment asked for; None picks the only one with an app."""
    with_app = [environment for environment in spec.environments if environment.app]
    if name is None and len(with_app) == 1:
        return with_app[0]
    if name is None:
        raise SpecError.single("choose the environment to render with --env (the plugin "
                               "parameter environment)", hint="environments with an app: "
                               + (", ".join(e.name for e in with_app) or "none"))
    chosen = spec.environment(name)
    if chosen.app is None:
        # no `app` to point at: located at the environment, the nearest field written
        raise SpecError([spec.problem(
            ("environments", name, "app"),
            f"environment '{name}' says nothing of how its applications render",
            "add app: {helmfile: ..., releases: {...}} to the environment")])
    return chosen


def parse(out: bytes, where: str) -> tuple[str, list[dict[str, Any]]]:
    """helmfile's output as Argo CD reads it: objects, each with an apiVersion and a kind."""
    from shipspec.pyyaml import yaml  # only this target reads rendered objects
    from shipspec.specfile.loading import objects_loader  # libyaml: releases run to megabytes

    try:
        text = out.decode("utf-8")
        documents = [d for d in yaml.load_all(text, Loader=objects_loader()) if d is not None]
    # PyYAML's constructors fail with Python's own errors where a scalar cannot be what
    # YAML 1.1 or its tag calls it: ValueError for `0x_`, IndexError for `!!int ''`,
    # KeyError for `!!bool x`
    except (UnicodeDecodeError, yaml.YAMLError, RecursionError, ValueError, LookupError,
            TypeError) as err:
        raise SpecError.single(f"helmfile's output for {where} is not YAML: "
                               f"{shown(str(err), 300)}") from None
    if not documents:
        raise SpecError.single(f"helmfile rendered nothing for {where}",
                               hint="Argo CD takes an empty render as 'delete everything'; "
                                    "check the release's installed: and the chart")
    for index, document in enumerate(documents):
        if not (isinstance(document, dict) and isinstance(document.get("kind"), str)
                and isinstance(document.get("apiVersion"), str)):
            raise SpecError.single(f"document {index + 1} that helmfile rendered for {where} "
                                   "is not a Kubernetes object (no apiVersion and kind)",
                                   hint="Argo CD refuses such a render; fix the chart's template")
    return text, documents


def release_problems(spec: "Spec", root: str) -> list[Problem]:
    """What `validate --deployment` says of the releases: each one an environment names must
    be in its helmfile, in the namespace the spec gives (`helmfile list` renders nothing)."""
    import json

    problems: list[Problem] = []
    for environment in spec.environments:
        app = environment.app
        if app is None:
            continue
        path = ("environments", environment.name, "app")
        if not in_checkout(root, app.helmfile):
            problems.append(missing_helmfile(spec, environment.name, app.helmfile, root))
            continue
        arguments = [HELMFILE, "--file", app.helmfile, "--environment",
                     app.helmfile_environment, "list", "--output", "json"]
        out, errors = finish(start(arguments, root))
        try:  # name → its namespaces: releases of one name may be in several
            listed: dict[str, list[str]] = {}
            for entry in json.loads(out):
                listed.setdefault(entry["name"], []).append(entry.get("namespace", ""))
        except (ValueError, TypeError, KeyError, AttributeError):
            said = errors.decode("utf-8", "replace")
            problems.append(spec.problem(path, "helmfile cannot list the releases of "
                                         f"environment '{app.helmfile_environment}':\n    "
                                         + "\n    ".join(said_lines(said))))
            continue
        for release in app.releases:
            where = (*path, "releases", release.name)
            if release.name not in listed:
                problems.append(spec.problem(
                    where, f"{app.helmfile} has no release '{release.name}' in environment "
                    f"'{app.helmfile_environment}'",
                    "releases: " + (", ".join(listed) or "none"), key=True))
            elif listed[release.name] == [""]:
                problems.append(spec.problem(
                    (*where, "namespace"),
                    f"'{release.namespace}', but helmfile gives the release no namespace",
                    f"set `namespace: {release.namespace}` on the release in {app.helmfile}: "
                    "helm renders it in the namespace it runs in otherwise"))
            elif release.namespace not in listed[release.name]:
                problems.append(spec.problem(
                    (*where, "namespace"), f"'{release.namespace}', but helmfile puts the "
                    "release in " + ", ".join(f"'{n}'" for n in listed[release.name] if n),
                    "give the release's namespace from the helmfile"))
    return problems


def expected_images(spec: "Spec", environment: "Environment", release: "Release",
                    root: str) -> list[tuple[str, str]]:
    """(module, image) the release must pull: the module's image at the tag its values file
    holds in the deployment checkout, read as `bump` reads it."""
    from shipspec.spec import HelmValuesTarget
    from shipspec.values.image_keys import pinned_image
    from shipspec.values.yamltext import YamlText

    found: list[tuple[str, str]] = []
    # each file read once: the modules of a release share their environment's values file
    documents: dict[str, YamlText] = {}
    for name in release.modules:
        module = spec.module(name)
        if not module.enabled:
            continue
        for target in module.deployment(environment.name).targets:
            if not isinstance(target, HelmValuesTarget):
                continue
            path = os.path.join(root, target.file)
            if not in_checkout(root, target.file):
                raise SpecError([spec.problem(("environments", environment.name, "values"),
                                              f"{target.file} is not a file in the "
                                              f"deployment checkout {root}")])
            if path not in documents:
                documents[path] = YamlText(read_text(path), target.file)
            doc = documents[path]
            pair = doc.find(target.tag_key.split("."))
            tag = pinned_image(doc, target)
            if not tag or tag.startswith("@"):
                mark = pair[1].start_mark if pair is not None else None
                raise SpecError.single(
                    f"module {name} has no tag at {target.tag_key}, so no image to check",
                    location=Location(target.file, mark.line + 1, mark.column + 1)
                    if mark else Location(target.file, 1, 1),
                    hint="shipspec bump sets it after the module's first build")
            found.append((name, f"{module.image}:{tag}"))
    return found


def check_images(documents: list[dict[str, Any]], expected: list[tuple[str, str]],
                 where: str) -> None:
    pulled = workload_images(documents)
    runtime_names = [canonical_image(found) for found in pulled]

    def is_pulled(image: str) -> bool:
        wanted = canonical_image(image)
        digest = tag_and_digest(wanted)[1]
        if digest:  # pinned: the digest is what is pulled, the tag beside it or not
            # (Bitnami's templates write repository@digest and drop the tag)
            repository = split_image(wanted)[0]
            return any(found in (wanted, f"{repository}@{digest}") for found in runtime_names)
        # at its tag, or at a digest of that tag
        return any(found == wanted or found.startswith(wanted + "@") for found in runtime_names)

    missing = [(module, image) for module, image in expected if not is_pulled(image)]
    if missing:
        raise SpecError.single(
            f"the render of {where} does not pull "
            + "; ".join(f"module {module}'s image {image}" for module, image in missing)
            + "; images rendered: " + (", ".join(pulled) or "none"),
            hint="the values file's image and tag must reach the chart (check the .gotmpl "
                 "values and global registry overrides such as global.imageRegistry)")


def workload_images(documents: list[dict[str, Any]]) -> list[str]:
    """Every container image in the objects, of any kind that lists containers. Nodes a
    YAML alias shares are walked once, so an alias bomb costs nothing."""
    images: set[str] = set()
    seen: set[int] = set()
    stack: list[Any] = list(documents)
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, dict):
            for key, value in node.items():
                if key in CONTAINER_LISTS and isinstance(value, list):
                    images.update(c["image"] for c in value
                                  if isinstance(c, dict) and isinstance(c.get("image"), str))
                if isinstance(value, (dict, list)):
                    stack.append(value)
        elif isinstance(node, list):
            stack.extend(item for item in node if isinstance(item, (dict, list)))
    return sorted(images)
