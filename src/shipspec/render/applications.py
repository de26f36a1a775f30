"""Target `applications`: one Argo CD Application per environment and helmfile release.

Each Application renders its release with this same plugin (`target: helmfile`) from the
deployment repository, at the directory that holds this spec, so one parent Application
that renders this target deploys a whole environment. The children carry no finalizer: when
a release leaves the spec, the parent prunes its Application and Argo CD leaves the
release's objects running until someone deletes them (docs/guides/argo-cd.md).
"""

from __future__ import annotations

import posixpath
from typing import Any

from shipspec.paths import covers
from shipspec.render import Gap, Rendered, RenderOptions, refuse_gaps
from shipspec.spec import Environment, Release, Spec

PLUGIN = "shipspec-v1"  # plugin.yaml's name and version, as Applications name it
DEFAULT_NAMESPACE = "argocd"  # where Argo CD watches Applications by default


def missing_settings(spec: Spec) -> list[Gap]:
    gaps: list[Gap] = []
    if not any(environment.app for environment in spec.environments):
        gaps.append((("environments",), "no environment says how Argo CD renders its "
                     "applications", "give an environment app: {helmfile: ..., releases: ...}"))
    if spec.deploy.url is None:
        gaps.append((("deploy", "url"), "the Applications' source is the deployment "
                     "repository, and deploy.url is not set",
                     "set deploy.url to the deployment repository's clone URL"))
    return gaps


def render(spec: Spec, options: RenderOptions) -> list[Rendered]:
    refuse_gaps(spec, missing_settings(spec))
    if options.modules:
        from shipspec.errors import SpecError

        raise SpecError.single("Applications are rendered per release, not per module",
                               hint="leave out --module (the plugin parameter modules)")
    return [Rendered(f"application-{document['metadata']['name']}.yaml", document)
            for environment in spec.environments
            if environment.app and options.environment in (None, environment.name)
            for release in environment.app.releases
            for document in [application(spec, environment, release, options)]]


def application(spec: Spec, environment: Environment, release: Release,
                options: RenderOptions) -> dict[str, Any]:
    app = environment.app
    assert app is not None  # render() passes environments with an app only
    labels = {**dict(options.labels), "app.kubernetes.io/managed-by": "shipspec",
              "app.kubernetes.io/part-of": spec.project, "shipspec.dev/environment":
              environment.name}
    # Render again on a change below the spec's directory or the helmfile's, or to the
    # values file bump writes, wherever it sits: on a commit that changes none of them Argo
    # CD keeps the manifests of the revision before (argo-cd util/app/path/path.go,
    # AppFilesHaveChanged), and a bump's new tag would never deploy. "/" starts a path at
    # the repository root (Argo CD's manifest-generate-paths).
    helmfile_directory = posixpath.dirname(app.helmfile)
    watched = [".", "/" + helmfile_directory]
    values = environment.values_file
    if values and not any(covers(directory, values)
                          for directory in (helmfile_directory, spec.directory)):
        watched.append("/" + values)
    kind, where = app.destination
    sync_policy: dict[str, Any] = {}
    if app.automated:
        sync_policy["automated"] = {"prune": True, "selfHeal": True}
    # An object another Application manages already fails the sync, rather than passing
    # from one Application to the other on every sync (Argo CD v3.5.1 controller/state.go
    # raises SharedResourceWarning, controller/sync.go fails on it with this option).
    sync_options = list(app.sync_options)
    if not any(option.startswith("FailOnSharedResource=") for option in sync_options):
        sync_options.append("FailOnSharedResource=true")
    sync_policy["syncOptions"] = sync_options
    parameters = [{"name": "target", "string": "helmfile"},
                  {"name": "environment", "string": environment.name},
                  {"name": "release", "string": release.name}]
    document: dict[str, Any] = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {
            "name": f"{spec.project}-{environment.name}-{release.name}",
            "namespace": options.namespace or DEFAULT_NAMESPACE,
            "labels": labels,
            "annotations": {"argocd.argoproj.io/manifest-generate-paths": ";".join(watched)},
        },
        "spec": {
            "project": app.project,
            "source": {"repoURL": spec.deploy.url, "targetRevision": environment.deploy_branch,
                       "path": spec.directory,
                       "plugin": {"name": PLUGIN, "parameters": parameters}},
            "destination": {kind: where, "namespace": release.namespace},
        },
    }
    if sync_policy:
        document["spec"]["syncPolicy"] = sync_policy
    return document
