"""Argo CD's config-management-plugin contract, as data in and data out.

The plugin server runs `shipspec generate --argocd` with no shell, in the application's path,
with the sidecar's environment plus Argo CD's: `ARGOCD_APP_*`, the Application's plugin
`env` entries as `ARGOCD_ENV_<name>`, and its parameters both as JSON in
`ARGOCD_APP_PARAMETERS` and as `PARAM_<NAME>` variables. Settings are taken, first found
first:

1. parameters: `ARGOCD_APP_PARAMETERS`,
2. plugin env: `ARGOCD_ENV_SHIPSPEC_TARGET`, `_ENVIRONMENT`, `_RELEASE`, `_MODULES`
   and `_PROJECTS` (comma-separated), `_NAMESPACE`,
3. the spec itself,
4. for the namespace only, the Application's destination, `ARGOCD_APP_NAMESPACE`.

The target helmfile also reads `KUBE_VERSION` and `KUBE_API_VERSIONS` (the destination
cluster's), and `ARGOCD_APP_SOURCE_PATH` to find the checkout's root.
"""

import os
import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

from shipspec.errors import Problem, SpecError
from shipspec.specfile.schema import DNS_LABEL

if TYPE_CHECKING:  # the target helmfile starts helmfile before importing the spec's types
    from shipspec.spec import Spec

# name → collection type of every parameter the plugin understands
PARAMETERS = {"target": "string", "environment": "string", "release": "string",
              "modules": "array", "namespace": "string", "labels": "map",
              "projects": "array"}
# What Argo CD applies: the other targets make files for CI, not objects.
TARGETS = ("tekton", "helmfile", "applications")
# What one Application can hold. Argo CD records every object it manages in the Application
# itself: a ResourceStatus each in status.resources and, once synced, a ResourceResult each
# in status.operationState.syncResult.resources, with kubectl's words for what it did
# (v3.5.1: pkg/apis/application/v1alpha1/types.go; gitops-engine/pkg/sync/sync_context.go,
# applyObject). The API server keeps the Application in etcd, which refuses a write over
# 1.5 MiB (its default --max-request-bytes): past it the controller cannot save the
# Application after a sync ("etcdserver: request is too large"; argoproj/argo-cd#14486, an
# application of about 3,000 objects). 64 KiB is left for the rest of the Application: its
# spec, ten history entries, its conditions (a failed render's message among them).
ETCD_OBJECT_BYTES = 1_572_864
APPLICATION_RECORDS_BYTES = ETCD_OBJECT_BYTES - 65_536
# Kubernetes label keys (optional DNS prefix) and values. Patterns, not compiled here: only
# `--argocd` uses them, and compiling costs every other `generate` at start-up.
_LABEL_KEY = (r"([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}"
              r"[A-Za-z0-9])?")
_LABEL_VALUE = r"([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?"
_NAMESPACE = DNS_LABEL  # with fullmatch, `$` cannot end before a newline
# The labels shipspec writes itself: which objects are its (and whose), which runs are a
# module's and which prune them. A parameter's value was overwritten, or, on the objects
# that do not carry the label, taken for shipspec's (a cleanup run labelled with a module
# counted as one of its builds).
_OWN_LABELS = ("shipspec.dev/", "app.kubernetes.io/managed-by", "app.kubernetes.io/part-of")


class ArgoSettings(NamedTuple):
    target: str
    environment: str | None
    modules: tuple[str, ...]
    namespace: str | None  # an explicit override (parameter or plugin env)
    application_namespace: str | None  # ARGOCD_APP_NAMESPACE: used when nothing else says
    labels: dict[str, str]
    release: str | None
    kube_version: str | None  # KUBE_VERSION: the destination cluster's
    api_versions: list[str]  # KUBE_API_VERSIONS: its API versions, comma-separated
    source_path: str | None  # ARGOCD_APP_SOURCE_PATH: the spec's directory in the checkout
    project: str | None  # ARGOCD_APP_PROJECT_NAME: the Application's own AppProject
    projects: tuple[str, ...]  # the AppProjects the Applications it renders may name


def settings(environ: Mapping[str, str]) -> ArgoSettings:
    """The generate settings that Argo CD's environment asks for."""
    parameters = _parameters(environ)

    def pick(name: str) -> Any:
        if name in parameters:
            return parameters[name]
        value = environ.get(f"ARGOCD_ENV_SHIPSPEC_{name.upper()}")
        if value is not None and name in ("modules", "projects"):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    labels: dict[str, str] = parameters.get("labels", {})
    for key, value in labels.items():
        if not re.fullmatch(_LABEL_KEY, key) or not re.fullmatch(_LABEL_VALUE, value):
            raise SpecError.single(f"label {key!r}: {value!r} is not a valid Kubernetes label",
                                   path="parameters.labels",
                                   hint="keys and values: letters, digits, '-', '_', '.'; "
                                        "at most 63 characters")
        if key.startswith(_OWN_LABELS):
            raise SpecError.single(f"label {key!r} is one shipspec sets itself",
                                   path="parameters.labels",
                                   hint="choose a key of your own, such as team or "
                                        "example.com/team")
    namespace = pick("namespace") or None
    application_namespace = environ.get("ARGOCD_APP_NAMESPACE") or None
    for source, given in (("the namespace parameter or ARGOCD_ENV_SHIPSPEC_NAMESPACE",
                           namespace),
                          ("ARGOCD_APP_NAMESPACE (the destination namespace)",
                           application_namespace)):
        if given is not None and (len(given) > 63 or not re.fullmatch(_NAMESPACE, given)):
            raise SpecError.single(f"{source} {given!r} is not a Kubernetes namespace",
                                   hint="lower-case letters, digits and '-', "
                                        "at most 63 characters")
    return ArgoSettings(
        target=pick("target") or "tekton",
        environment=pick("environment") or None,
        modules=tuple(pick("modules") or ()),
        namespace=namespace,
        application_namespace=application_namespace,
        labels=labels,
        release=pick("release") or None,
        kube_version=environ.get("KUBE_VERSION") or None,
        api_versions=[v for v in environ.get("KUBE_API_VERSIONS", "").split(",") if v],
        source_path=environ.get("ARGOCD_APP_SOURCE_PATH") or None,
        project=environ.get("ARGOCD_APP_PROJECT_NAME") or None,
        projects=tuple(pick("projects") or ()),
    )


def foreign_projects(spec: "Spec", environment: str | None,
                     argo: ArgoSettings) -> list[Problem]:
    """Where the Applications that target applications renders would name an AppProject
    the parent Application may not hand out. An Application may name any project, and Argo
    CD lets whoever creates one choose: "the ability to create Applications in arbitrary
    Projects is an admin-level capability" (v3.5.1, docs/operator-manual/
    cluster-bootstrapping.md, App Of Apps). The spec sits in the deployment repository, which
    every CI run's token may push to; so the Applications it renders stay in the parent's
    own project, or in those that the parent, an object in the cluster, lists."""
    allowed = argo.projects or ((argo.project,) if argo.project else ())
    problems = []
    for chosen in spec.environments:
        app = chosen.app
        if app is None or environment not in (None, chosen.name) or app.project in allowed:
            continue
        given = (f"the parent Application is in project '{argo.project}'" if argo.project
                 else "Argo CD did not say the parent Application's project "
                      "(ARGOCD_APP_PROJECT_NAME)")
        problems.append(spec.problem(
            ("environments", chosen.name, "app", "project"),
            f"the Applications of environment '{chosen.name}' would be in project "
            f"'{app.project}', and {given}"
            + (f", which may create them in {', '.join(argo.projects)}" if argo.projects
               else ""),
            "creating Applications in any project is an admin-level capability in Argo CD: "
            "set app.project to "
            + (f"'{argo.project}'" if argo.project else "the parent Application's project")
            + ", or list the projects this parent may create in its plugin parameter "
              "projects"))
    return problems


def checkout_root(spec_root: str, source_path: str | None) -> str:
    """The root of the repository checkout Argo CD streamed: the plugin runs in the
    Application's path below it, so the root is the working directory without that path.
    This holds when `.git` is left out of the stream (cmp/skip-git), where the spec's own
    root would stop at its directory."""
    here = os.getcwd()
    if source_path:
        parts = [part for part in source_path.split("/") if part not in ("", ".")]
        if ".." not in parts and (not parts or here.split(os.sep)[-len(parts):] == parts):
            return os.path.normpath(os.path.join(here, *[".."] * len(parts)))
    return spec_root


def _parameters(environ: Mapping[str, str]) -> dict[str, Any]:
    """The Application's plugin parameters, from the JSON that Argo CD always sends.

    Argo CD (v3.5.1, `ApplicationSourcePluginParameters.Environ` in
    pkg/apis/application/v1alpha1/types.go) marshals the Application's parameter list into
    `ARGOCD_APP_PARAMETERS` whenever the source has a `plugin:` section, and writes the
    `PARAM_*` variables from that same list; so the JSON alone is read (`PARAM_*` upper-cases
    map keys). Absent (no `plugin:` section) and `null` (a `plugin:` section without
    `parameters:`) both mean no parameters; an entry with only a name (`- name: namespace`)
    leaves that parameter unset.
    """
    raw = environ.get("ARGOCD_APP_PARAMETERS")
    if raw is None or raw.strip() == "null":  # the common case, without importing json
        return {}
    import json  # only in Argo CD mode, and only when parameters are set

    try:
        entries = json.loads(raw)
    except (ValueError, RecursionError) as err:
        raise SpecError.single(f"ARGOCD_APP_PARAMETERS is not valid JSON: {err}") from None
    if not isinstance(entries, list):
        raise SpecError.single("ARGOCD_APP_PARAMETERS must be a JSON list of parameters",
                               hint='[{"name": "environment", "string": "stage"}, ...]')
    found: dict[str, Any] = {}
    for entry in entries:
        name = entry.get("name") if isinstance(entry, dict) else None
        if not isinstance(entry, dict) or not isinstance(name, str) or name not in PARAMETERS:
            raise SpecError.single(f"unknown plugin parameter {repr(name)[:80]}",
                                   hint="parameters: " + ", ".join(PARAMETERS))
        given = [kind for kind in ("string", "array", "map") if entry.get(kind) is not None]
        if not given:
            continue  # a name without a value: Argo CD sends it, it sets nothing
        kind = PARAMETERS[name]
        value = entry.get(kind)
        if given != [kind] or not _well_typed(kind, value):
            raise SpecError.single(f"plugin parameter '{name}' must be given as a {kind}",
                                   hint=f'{{"name": "{name}", "{kind}": ...}}')
        found[name] = value
    return found


def _well_typed(kind: str, value: Any) -> bool:
    """A parameter value of its kind whose every string is valid Unicode."""
    if kind == "string":
        return isinstance(value, str) and _encodable(value)
    if kind == "array":
        return isinstance(value, list) and all(
            isinstance(v, str) and _encodable(v) for v in value)
    return isinstance(value, dict) and all(
        isinstance(v, str) and _encodable(k) and _encodable(v) for k, v in value.items())


def _encodable(text: str) -> bool:
    """False for lone surrogates (JSON's "\\ud800"), which no output can carry."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


# Of the two entries of an object (see recorded_bytes), what is the same for every object.
_ENTRIES = len('{"version":"","kind":"","name":"","status":"Synced"},'
               '{"group":"","namespace":"","version":"","kind":"","name":"","status":"Synced",'
               '"message":"/ serverside-applied","hookPhase":"Running","syncPhase":"Sync"},')
_GROUP_FIELD, _NAMESPACE_FIELD = len('"group":"",'), len(',"namespace":""')


def recorded_bytes(objects: Iterable[Mapping[str, Any]]) -> int:
    """The bytes of the two entries Argo CD writes into an Application for each of `objects`
    (see APPLICATION_RECORDS_BYTES), as Go's encoding/json writes them, a comma after each:

        {"group":G,"version":V,"kind":K,"name":N,"status":"Synced","namespace":NS}
        {"group":G,"namespace":NS,"version":V,"kind":K,"name":N,"status":"Synced",
         "message":"k.G/N serverside-applied","hookPhase":"Running","syncPhase":"Sync"}

    The first leaves out an empty group or namespace, the second never; its message is
    kubectl's name of the object (the kind in lower case, `.group` unless core) and the
    longest word of a successful apply, a server-side apply's. Names, kinds, groups and
    namespaces need no escaping in JSON. Counted, not written: the plugin pays this on
    every refresh."""
    total = 0
    for obj in objects:
        group, _, version = obj["apiVersion"].rpartition("/")
        metadata = obj["metadata"]
        namespace = len(metadata.get("namespace", ""))
        total += (_ENTRIES + 2 * len(version) + 3 * (len(obj["kind"]) + len(metadata["name"]))
                  + (_GROUP_FIELD + 3 * len(group) + 1 if group else 0)
                  + (_NAMESPACE_FIELD + 2 * namespace if namespace else 0))
    return total


def too_much_for_an_application(spec: "Spec", objects: list[dict[str, Any]],
                                modules: int) -> Problem | None:
    """The problem of a render that one Application could not record (see
    APPLICATION_RECORDS_BYTES), from `modules` modules; None when it fits."""
    recorded = recorded_bytes(objects)
    if recorded <= APPLICATION_RECORDS_BYTES:
        return None
    fit = modules * APPLICATION_RECORDS_BYTES // recorded
    return spec.problem(
        ("modules",),
        f"the {len(objects):,} objects of these {modules:,} modules are more than one Argo "
        f"CD Application can hold: its status records each one, {recorded / 2**20:.2f} MiB "
        f"here, of the {APPLICATION_RECORDS_BYTES / 2**20:.2f} MiB that etcd's limit of "
        f"{ETCD_OBJECT_BYTES / 2**20:.1f} MiB an object leaves them; Argo CD could not save "
        "the Application once it synced them",
        f"split the modules into specs of their own, each with its own project and "
        f"Application: about {fit:,} of these modules fit in one", key=True)


def announcements(spec: "Spec") -> list[dict[str, Any]]:
    """The dynamic parameter announcements: this spec's environments and modules."""
    modules = [m.name for m in spec.enabled_modules]
    environments = list(spec.environment_names)
    return [
        {"name": "environment", "title": "Environment",
         "tooltip": "Render one environment only: " + (", ".join(environments) or "none"),
         "string": ""},
        {"name": "release", "title": "Release",
         "tooltip": "target helmfile: the release to render: " + (", ".join(
             f"{e.name}/{r.name}" for e in spec.environments if e.app for r in e.app.releases)
             or "none"),
         "string": ""},
        {"name": "modules", "title": "Modules", "collectionType": "array",
         "tooltip": "Render these modules only (empty: all enabled modules)", "array": modules},
    ]
