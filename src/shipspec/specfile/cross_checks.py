"""Checks across a spec's resolved modules and environments: what no field's own check can
see, because it takes two of them (two modules writing one values key, two environments
deploying through one file) or the whole spec (no value may become a GitHub Actions
expression or break a Tekton TriggerBinding).

Each check yields Findings, located by the resolver, which collects them with the rest.
"""

from collections.abc import Iterator, Mapping
from typing import Any

from shipspec.images import canonical_image
from shipspec.spec import (
    Environment,
    HelmValuesTarget,
    KustomizeTarget,
    ManifestTarget,
    Module,
    Target,
)
from shipspec.specfile.loading import FieldPath

# Characters of the values that unsafe_binding_values reports, with a better reason than
# that they are no image name.
BINDING_UNSAFE = frozenset('"\\$')


# (field, message, hint, whether it is located at the field's name rather than its value);
# a tuple, not a NamedTuple: making the class would cost every start of `generate`.
Finding = tuple[FieldPath, str, str, bool]


def apps(project: str, environments: tuple[Environment, ...],
         modules: tuple[Module, ...]) -> Iterator[Finding]:
    """Every module a release names deploys to that environment through its values (or is
    disabled), and every such module is rendered by one release, so the image check misses
    none."""
    applications: dict[str, tuple[str, str]] = {}  # name: (environment, release)
    for environment in environments:
        if environment.app is None:
            continue
        path: FieldPath = ("environments", environment.name, "app", "releases")
        through_values = {
            module.name for module in modules if module.enabled
            for deployment in module.deployments
            if deployment.environment == environment.name
            and any(isinstance(t, HelmValuesTarget) for t in deployment.targets)}
        named: dict[str, str] = {}
        for release in environment.app.releases:
            name = f"{project}-{environment.name}-{release.name}"
            if len(name) > 63:
                yield ((*path, release.name), f"the Application name '{name}' is "
                       "longer than 63 characters", "shorten the project or the environment "
                       "(app.environment keeps helmfile's name for it): release names are "
                       "helmfile's", True)
            # Names join with '-', which names hold too: environment `stage` with release
            # `api-web`, and `stage-api` with `web`. Argo CD keeps the last of two objects
            # of one name in a render (controller/state.go, NormalizeTargetObjects: a
            # RepeatedResourceWarning, nothing more), so one release never deployed.
            first = applications.setdefault(name, (environment.name, release.name))
            if first != (environment.name, release.name):
                yield ((*path, release.name), f"the Application name '{name}' is also that "
                       f"of the release '{first[1]}' of environment '{first[0]}': Argo CD "
                       "would keep one of the two Applications", "rename one of the "
                       "environments (app.environment keeps helmfile's name for it): release "
                       "names are helmfile's", True)
            for index, module in enumerate(release.modules):
                if module in named:
                    yield ((*path, release.name, "modules", index),
                           f"module '{module}' is already rendered by the release "
                           f"'{named[module]}'", "list each module in one release", False)
                elif module not in through_values and not any(
                        m.name == module and not m.enabled for m in modules):
                    yield ((*path, release.name, "modules", index),
                           f"module '{module}' does not deploy to "
                           f"'{environment.name}' through the values file",
                           "list the enabled modules whose values this environment's "
                           "file holds", False)
                named.setdefault(module, release.name)
        for module in sorted(through_values - set(named)):
            yield (path, f"module '{module}' deploys to '{environment.name}', but no "
                   "release renders it, so no render checks its image",
                   f"add {module} to the modules of the release that deploys it", False)


def images_apart(modules: tuple[Module, ...],
                 sample_tags: Mapping[tuple[str, str], str]) -> Iterator[Finding]:
    """Two modules of one repository built otherwise (astrago's core and batch, both pushed
    to astrago-backend) must not push one image and tag for a commit: the second push would
    replace the first image, and both modules would run it. (The commits of two repositories
    differ, and so do their tags.) `sample_tags`: each (module, environment)'s tag of one
    commit, where it is a valid tag."""
    pushed: dict[tuple[str, str, str], Module] = {}
    for module in modules:
        image = canonical_image(module.image)  # docker.io/acme/app is acme/app
        for deployment in module.deployments if module.enabled else ():
            tag = sample_tags.get((module.name, deployment.environment))
            if tag is None:  # not a valid tag: said already
                continue
            first = pushed.setdefault((module.repo, image, tag), module)
            if _build_of(first) != _build_of(module):
                yield (("modules", module.name),
                       f"pushes {module.image}:{tag} for a commit, as module "
                       f"{first.name} does, built otherwise: one image would "
                       "replace the other in the registry, and both would run it",
                       "name the module in the tag ({{ module }}-...), or give "
                       "it an image of its own", True)
                return  # one pair says it; the fix is usually one template


def shared_targets(modules: tuple[Module, ...]) -> Iterator[Finding]:
    """Two modules writing one values key would overwrite each other's tag; a key below
    another module's (`x` and `x.repository`) would turn a value into a mapping; two
    environments of one module writing one key of one branch would deploy each other's tag
    (stage's bump would deploy prod). The shared image defaults are read, never written, so
    they may be shared. Nor may two modules write one manifest's container: each bump would
    put its own tag on the other's image; nor set one image in one kustomize overlay, whose
    `images:` entry gives every container of that image its tag (kustomize's
    api/filters/imagetag)."""
    owners: dict[tuple[str, tuple[str, ...]], str] = {}
    containers: dict[ManifestTarget, str] = {}
    overlays: dict[tuple[str, str, str], str] = {}  # (branch, overlay, image) → module
    clashes: dict[str, tuple[str, str, str, str]] = {}  # module → file, key, other, its

    def clash(module: str, file: str, key: tuple[str, ...], other: str,
              others: tuple[str, ...]) -> None:
        clashes.setdefault(module, (file, ".".join(key), other, ".".join(others)))

    for module in modules:
        yield from environments_apart(module)
        for deployment in module.deployments:
            for target in deployment.targets:
                if isinstance(target, ManifestTarget):
                    owner = containers.setdefault(target, module.name)
                    if owner != module.name:
                        yield (("modules", module.name, "manifest"),
                               f"writes {_container_of(target)}, as module "
                               f"'{owner}' does",
                               "name each module's own container in manifest.container", False)
                if isinstance(target, KustomizeTarget):
                    owner = overlays.setdefault(
                        (deployment.deploy_branch, target.directory,
                         canonical_image(target.image)), module.name)
                    if owner != module.name:
                        yield (("modules", module.name, "kustomize"),
                               f"sets the image {target.image} in the overlay "
                               f"{target.directory}, as module '{owner}' does: "
                               "kustomize gives every container of one image the "
                               "same tag, so both modules would run the one bumped "
                               "last", "give each module its own image, or its own "
                               "overlay", False)
                if not isinstance(target, HelmValuesTarget):
                    continue
                for text in (target.tag_key, target.repository_key, target.registry_key,
                             target.digest_key):
                    if not text:
                        continue
                    key = tuple(text.split("."))
                    owner = owners.setdefault((target.file, key), module.name)
                    if owner != module.name:
                        clash(module.name, target.file, key, owner, key)
    for (file, key), owner in owners.items():
        for end in range(1, len(key)):  # the key's proper prefixes
            other = owners.get((file, key[:end]))
            if other is not None and other != owner:
                clash(owner, file, key, other, key[:end])
    for name, (file, written, other, others) in clashes.items():
        said = (f"as module '{other}' does" if written == others
                else f"where module '{other}' writes {others}")
        yield (("modules", name, "values"), f"writes {written} in {file}, {said}",
               "give each module its own values key", False)


def environments_apart(module: Module) -> Iterator[Finding]:
    """Two environments of `module` writing its tag into one place (a values key, a
    manifest's container) of one file on one branch of the deployment repository: a bump of
    one would deploy the other. A module without its `environments` deploys to every one
    declared, so a manifest written for stage was the one prod ran."""
    environments: dict[tuple[str, Target], str] = {}  # (branch, target) → env
    for deployment in module.deployments:
        for target in deployment.targets:
            place = (deployment.deploy_branch, target)
            other = environments.setdefault(place, deployment.environment)
            if other == deployment.environment:
                continue
            if isinstance(target, HelmValuesTarget):
                field, written = "values", f"{target.tag_key} in {target.file}"
                hint = "give each environment its own values file, or its own branch"
            else:
                # a kustomize overlay's branch names its one environment: never two
                assert isinstance(target, ManifestTarget)
                field, written = "manifest", _container_of(target)
                hint = (f"list the one environment it deploys to in modules.{module.name}"
                        ".environments, or give each environment its own branch "
                        "(deployBranch)")
            yield (("modules", module.name, field),
                   f"writes {written} on branch {deployment.deploy_branch} for "
                   f"both '{other}' and '{deployment.environment}': a bump of one "
                   "would deploy the other", hint, False)


def workflow_expressions(value: Any, path: FieldPath = ()) -> Iterator[Finding]:
    """No spec value may become a GitHub Actions expression: workflows carry images,
    branches and paths as written, and `${{ github.event.head_commit.message }}` in one
    would hand it to whoever pushes. No field needs `${{`; tag templates use `{{`."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from workflow_expressions(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from workflow_expressions(item, (*path, index))
    elif isinstance(value, str) and "${{" in value:
        yield (path, "holds '${{', which GitHub Actions would evaluate as an "
               "expression in the workflows", "write the value itself", False)


def unsafe_binding_values(data: dict[str, Any]) -> Iterator[Finding]:
    """The values of the spec `data` that Tekton Triggers would mangle in a TriggerBinding.
    Any spec may be rendered for Tekton (`generate --target tekton`), whatever its engine."""
    for field, value in _binding_values(data):
        unsafe = _unsafe_binding_value(value)
        if unsafe:
            yield (field, f"{value!r} {unsafe}: Tekton Triggers copy binding values "
                   "into the PipelineRun's JSON as they are, and expand $(...) from "
                   "the webhook event", "choose a value without '\"', '\\' or '$('", False)


def _binding_values(data: dict[str, Any]) -> Iterator[tuple[FieldPath, str]]:
    """The fields whose values the Tekton renderer writes into TriggerBindings."""
    source = data.get("source", {})
    if "url" in source:
        yield ("source", "url"), source["url"]
    registry = data.get("registry", {})
    if "url" in registry:  # the start of every module's image
        yield ("registry", "url"), registry["url"]
    for name, image in data.get("ci", {}).get("images", {}).items():
        yield ("ci", "images", name), image  # the pre-build step's image
    for environment, settings in data.get("environments", {}).items():
        if "branch" in settings:
            yield ("environments", environment, "branch"), settings["branch"]
    for module, entry in data["modules"].items():
        for field in ("repo", "gitBranch", "image", "moduleName", "dockerfile",
                      "dockerfileName", "context"):
            if isinstance(entry, dict) and field in entry:
                yield ("modules", module, field), entry[field]


def _unsafe_binding_value(value: str) -> str | None:
    """Why Tekton Triggers would mangle `value` as a static binding value, or None.

    Triggers (v0.37.0) put a binding's value into the TriggerTemplate's resource by replacing
    `$(tt.params.<name>)` in its JSON text as is (pkg/template/resource.go,
    applyParamToResourceTemplate; quotes are escaped only under the old-escape-quotes
    annotation), so a quote, a backslash or a control character breaks the JSON of every run
    of that Trigger; and they replace every `$(...)` in a binding value from the webhook
    event (pkg/template/event.go, applyEventValuesToParams), which would hand that value to
    whoever sends the event.
    """
    if '"' in value or "\\" in value:
        return "holds a quote or a backslash"
    if any(ord(char) < 0x20 or ord(char) == 0x7F for char in value):
        return "holds a control character"
    if "$(" in value:
        return "holds '$('"
    return None


def compute_resources(data: dict[str, Any]) -> Iterator[Finding]:
    """Each build's resources as Kubernetes takes them: no request above its limit (the API
    server refuses the pod: ValidateResourceRequirements), ci.resources' alone and with each
    module's own over them; and a module sets only what ci.resources sets, because every
    module's runs come from one TriggerTemplate, whose fields each run must fill."""
    shared = data.get("ci", {}).get("resources", {})
    yield from _over_limits({}, shared, ("ci", "resources"))
    for module, entry in data["modules"].items():
        own = entry.get("resources", {}) if isinstance(entry, dict) else {}
        path: FieldPath = ("modules", module, "resources")
        for kind, amounts in own.items():
            for name in amounts:
                if name not in shared.get(kind, {}):
                    yield ((*path, kind, name), f"sets {kind}.{name}, which ci.resources "
                           "does not: on Tekton, every module's runs come from one "
                           "TriggerTemplate, which needs a value for each module",
                           f"set ci.resources.{kind}.{name} too, the value of the modules "
                           "without their own", True)
        yield from _over_limits(shared, own, path)


def _over_limits(shared: dict[str, dict[str, str]], own: dict[str, dict[str, str]],
                 path: FieldPath) -> Iterator[Finding]:
    """Requests above their limits among `own` resources over `shared` ones, at `path`; of
    the resources `own` sets a request or a limit of (the others are checked where set)."""
    requests = {**shared.get("requests", {}), **own.get("requests", {})}
    for name, limit in {**shared.get("limits", {}), **own.get("limits", {})}.items():
        kind = "requests" if name in own.get("requests", {}) else "limits"
        request = requests.get(name)
        if request is None or name not in own.get(kind, {}):
            continue
        if _more(_amount(request), _amount(limit)):
            yield ((*path, kind, name), f"the build would request {request} of {name} "
                   f"and be limited to {limit}: Kubernetes refuses such a pod, so no build "
                   "would start",
                   f"raise limits.{name} to {request} at least, or lower the request", False)


# Kubernetes' suffixes (apimachinery pkg/api/resource/suffix.go): powers of 1024 and of 10.
_BINARY_SUFFIXES = {"Ki": 1, "Mi": 2, "Gi": 3, "Ti": 4, "Pi": 5, "Ei": 6}
_DECIMAL_SUFFIXES = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12,
                     "P": 15, "E": 18}


def _amount(quantity: str) -> tuple[int, int]:
    """The exact amount of a quantity that matched schema.COMPUTE_QUANTITY, as a numerator
    and a denominator (fractions would cost every start its import of decimal)."""
    number = quantity.rstrip("KMGTPEinumk")
    suffix = quantity[len(number):]
    number, _, exponent = number.replace("E", "e").partition("e")  # 1e3, 5E-1
    whole, _, fraction = number.partition(".")
    numerator, denominator = int(whole + fraction or "0"), 10 ** len(fraction)
    if suffix in _BINARY_SUFFIXES:
        return numerator * 1024 ** _BINARY_SUFFIXES[suffix], denominator
    power = int(exponent) if exponent else _DECIMAL_SUFFIXES[suffix]
    if power < 0:
        return numerator, denominator * 10 ** -power
    return numerator * 10 ** power, denominator


def _more(amount: tuple[int, int], than: tuple[int, int]) -> bool:
    return amount[0] * than[1] > than[0] * amount[1]


def _container_of(target: ManifestTarget) -> str:
    """How the checks name what a manifest target writes."""
    return (f"the image of {target.kind} {target.name} (container {target.container}) in "
            f"{target.file}")


def _build_of(module: Module) -> tuple[str, ...]:
    """What makes a module's image from a commit: two modules alike here push the same
    image."""
    return (module.context, module.dockerfile, module.build, module.build_task)
