"""`shipspec generate`: render a target (Tekton objects, workflows, values) from the spec.

Fails closed: everything is rendered in memory first; stdout gets the whole stream or
nothing, and `--output-dir` files are written only once every document rendered. Zero
documents is an error, because Argo CD takes empty output as "delete everything".
"""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING

from shipspec import __version__, argocd, emit
from shipspec.cli.options import Output, spec_path, whole_commit_id
from shipspec.errors import SpecError
from shipspec.paths import repository_root

if TYPE_CHECKING:  # the target helmfile starts helmfile before importing the spec's types
    from shipspec.render import Rendered, RenderOptions
    from shipspec.spec import Spec

TARGETS = ("tekton", "github-actions", "values", "helmfile", "applications")


def arguments(parser: argparse.ArgumentParser) -> None:
    spec_path(parser)
    parser.add_argument("--target", choices=TARGETS, help="what to render (default: tekton)")
    parser.add_argument("--env", help="limit to one environment")
    parser.add_argument("--module", action="append", default=[],
                        help="limit to this module (repeatable)")
    parser.add_argument("--release", help="target helmfile: the helmfile release to render "
                                          "(default: the environment's only one)")
    parser.add_argument("--deployment", metavar="DIR",
                        help="target helmfile: the deployment repository's checkout "
                             "(default: the repository holding the spec)")
    parser.add_argument("--kube-version", help="target helmfile: the cluster's Kubernetes "
                                               "version, such as 1.31.2")
    parser.add_argument("--api-version", action="append", default=[],
                        help="target helmfile: an API version the cluster serves, such as "
                             "apps/v1 (repeatable)")
    parser.add_argument("--output-dir", help="write files there instead of stdout")
    parser.add_argument("--format", choices=("yaml", "json"), default="yaml",
                        help="a YAML stream (default), or one JSON v1 List of the objects")
    parser.add_argument("--run", metavar="SHA",
                        help="target tekton: print the PipelineRun a push of commit SHA to "
                             "each module's branch would start, for kubectl create -f -")
    parser.add_argument("--argocd", action="store_true",
                        help="run as Argo CD's plugin: settings from its environment "
                             "(ARGOCD_APP_PARAMETERS, ARGOCD_ENV_SHIPSPEC_*, ...)")


def run(args: argparse.Namespace) -> str | Output:
    if args.output_dir and os.path.exists(args.output_dir) and not os.path.isdir(
            args.output_dir):
        raise SpecError.single(f"--output-dir {args.output_dir} is a file, not a directory",
                               hint="name a directory; it is made when it does not exist")
    target = args.target or "tekton"
    environment, modules, release = args.env, list(args.module), args.release
    kube_version, api_versions = args.kube_version, list(args.api_version)
    argo = None
    if args.argocd:
        argo = argocd.settings(os.environ)
        target = args.target or argo.target
        environment = environment or argo.environment
        modules = modules or list(argo.modules)
        release = release or argo.release
        kube_version = kube_version or argo.kube_version
        api_versions = api_versions or argo.api_versions
        if target not in argocd.TARGETS:
            raise SpecError.single(
                f"Argo CD applies Kubernetes objects; the target '{target}' does not make them",
                hint=f"use {', '.join(argocd.TARGETS)} in Argo CD, and generate the others "
                     "in CI")
    helmfile_only = [flag for flag, given in (
        ("--release", args.release), ("--deployment", args.deployment),
        ("--kube-version", args.kube_version), ("--api-version", args.api_version)) if given]
    if target != "helmfile" and helmfile_only:
        raise SpecError.single(f"{', '.join(helmfile_only)}: for the target helmfile only, "
                               f"not {target}",
                               hint="leave it out, or render a release with --target helmfile")
    if args.run is not None:
        return runs_by_hand(args, target, environment, modules)
    if target == "helmfile":
        if modules or args.output_dir or (argo and (argo.labels or argo.namespace)):
            raise SpecError.single(
                "the target helmfile prints one whole release as helm renders it",
                hint="leave out modules, labels, namespace and --output-dir; the release's "
                     "namespace comes from the helmfile")
        return render_release(args, environment, release, kube_version, api_versions,
                              checkout_root(args.path, argo))
    from shipspec.render import renderer, select_options
    from shipspec.specfile.resolve import load_spec

    # benchmarks/run.py (_STAGES) counts the plugin's path through here stage by stage
    spec = load_spec(args.path, root=checkout_root(args.path, argo) if argo else None)
    namespace, labels = None, {}
    if argo:
        if target == "applications" and (
                foreign := argocd.foreign_projects(spec, environment, argo)):
            raise SpecError(foreign)
        namespace = argo.namespace or (
            None if spec.namespace and target == "tekton" else argo.application_namespace)
        labels = argo.labels
    options = select_options(spec, environment, modules)._replace(
        namespace=namespace, labels=tuple(sorted(labels.items())))
    rendered = renderer(target).render(spec, options)
    module_count = len(options.modules or spec.enabled_modules)
    if argo:
        too_much = argocd.too_much_for_an_application(
            spec, [item.document for item in rendered], module_count)
        if too_much:
            raise SpecError([too_much])
    written = output(args, spec, target, options, rendered)
    notes = [] if args.argocd else people_notes(spec, target, args.target is None, rendered,
                                                module_count)
    if isinstance(written, Output):  # files kept below --output-dir
        return Output(written.text, "".join([*notes, written.notice]))
    return Output(written, "".join(notes)) if notes else written


def runs_by_hand(args: argparse.Namespace, target: str, environment: str | None,
                 modules: list[str]) -> str | Output:
    """--run: the PipelineRuns of a push, started by hand (render/tekton.py)."""
    if target != "tekton" or args.argocd or args.output_dir:
        raise SpecError.single("--run prints Tekton PipelineRuns, for kubectl create -f -",
                               hint="leave out --target, --argocd and --output-dir")
    revision = whole_commit_id("--run", args.run, 'give all its hexadecimal digits: --run '
                                                  '"$(git rev-parse HEAD)"')
    from shipspec.render import select_options, tekton
    from shipspec.specfile.resolve import load_spec

    spec = load_spec(args.path)
    options = select_options(spec, environment, modules)
    return output(args, spec, target, options, tekton.runs_by_hand(spec, options, revision))


def people_notes(spec: Spec, target: str, defaulted: bool, rendered: list[Rendered],
                 module_count: int) -> list[str]:
    """What the person running generate should know besides the output."""
    notes = []
    if defaulted and spec.ci.engine != target:
        notes.append(f"note: rendered the default target {target}; {spec.file} runs its CI "
                     f"on {spec.ci.engine}: add --target {spec.ci.engine}\n")
    from shipspec.images import other_release, other_release_hint

    version = other_release(spec.ci.images)
    if target in ("tekton", "github-actions") and version:
        notes.append(f"note: ci.images.shipspec is shipspec {version}, and this CI, written "
                     f"by shipspec {__version__}, runs its commands in it: "
                     f"{other_release_hint()}\n")
    if target == "tekton":
        from shipspec.render.tekton import server_side_objects, warnings_for

        notes += [f"note: {text}\n" for text in warnings_for(spec)]
        documents = [item.document for item in rendered]
        large = server_side_objects(documents)
        if large:
            notes.append(f"note: {', '.join(large)}: too large for kubectl's client-side "
                         "apply (its last-applied annotation holds 256 KiB): apply with "
                         "kubectl apply --server-side; Argo CD does, as they ask\n")
        too_much = argocd.too_much_for_an_application(spec, documents, module_count)
        if too_much:  # kubectl applies them; the plugin (--argocd) refuses them
            notes.append(f"note: kubectl can apply these objects, Argo CD cannot: "
                         f"{too_much.message}; {too_much.hint}\n")
    return notes


# Removing a file removes nothing from the cluster: `kubectl apply -f` never deletes, and a
# removed module's or environment's Triggers would go on building and deploying it.
_STILL_IN_THE_CLUSTER = (
    "note: the objects of the files removed are still in the cluster, where their Triggers "
    "go on starting runs: apply with --prune as the Tekton guide shows (step 7), or let "
    "Argo CD sync with pruning\n")


def output(args: argparse.Namespace, spec: Spec, target: str, options: RenderOptions,
           rendered: list[Rendered]) -> str | Output:
    """The rendered documents as stdout gets them, or the files written and their list."""
    if not rendered:
        if spec.allow_empty:
            return ""
        raise SpecError.single(
            f"the target '{target}' renders nothing for {spec.file}",
            hint="enable a module, or check the environment and modules asked for; "
                 "argocd.allowEmpty: true makes an empty render (and Argo CD's prune) intended",
        )
    if args.output_dir:
        from shipspec import output_dir  # off the start-up of output to stdout (Argo CD's)

        if target == "values":
            return output_dir.write_values_files(spec, options, args.output_dir, rendered,
                                                 args.format)
        narrowed = bool(options.environment or options.modules)
        summary, kept, removed = output_dir.write_files(args.output_dir, rendered,
                                                        args.format, narrowed)
        if removed and target == "tekton":
            kept += _STILL_IN_THE_CLUSTER
        return Output(summary, kept) if kept else summary
    if target == "github-actions":
        if args.format == "json":
            raise SpecError.single("workflows are YAML files, not Kubernetes objects: "
                                   "--format json does not apply to them",
                                   hint="leave out --format json")
        # each workflow goes to its own repository: say which, before its document
        return "".join(f"# {item.path}\n{emit.to_yaml_stream([item.document])}"
                       for item in rendered)
    documents = [item.document for item in rendered]
    if args.format == "json":
        return emit.objects_to_json(documents)
    if args.argocd:  # read by Argo CD on every refresh, not by people
        return emit.to_flow_stream(documents)
    return emit.to_yaml_stream(documents)


def checkout_root(path: str, argo: argocd.ArgoSettings | None) -> str:
    """The root of the repository holding the spec: in Argo CD, that of the checkout it
    streamed, which may lack .git (cmp/skip-git)."""
    directory = path if os.path.isdir(path) else os.path.dirname(path) or "."
    root = repository_root(os.path.abspath(directory))
    return argocd.checkout_root(root, argo.source_path) if argo else root


def render_release(args: argparse.Namespace, environment: str | None, release: str | None,
                   kube_version: str | None, api_versions: list[str], root: str) -> str:
    """Target helmfile: one release rendered by helmfile and checked, printed as helm wrote
    it. When a refresh of the same spec bytes ran before, helmfile starts at once, from its
    memo, and runs while shipspec checks the spec; it runs again if the checked spec asks for
    other arguments."""
    import contextlib

    from shipspec import helmfile  # only this target runs helmfile

    cluster = helmfile.cluster(kube_version, api_versions)
    deployment = args.deployment or root
    memo = helmfile.memo_file(args.path, environment, release)
    from shipspec.cli.termination import sigterm_cleans_up  # signal: subprocess's already

    # The plugin renders repositories side by side in one sidecar: helmfile runs confined
    # there (confine.py), with a scratch directory that a refresh Argo CD stops (SIGTERM to
    # the process group) must not leave behind.
    with sigterm_cleans_up() if args.argocd else contextlib.nullcontext():
        early = helmfile.start_remembered(memo, deployment, cluster, confined=args.argocd)
        try:
            from shipspec.specfile.resolve import load_spec

            spec = load_spec(args.path, root=root)
            rendered = helmfile.render(spec, environment, release, deployment, cluster, early,
                                       memo, confined=args.argocd)
        except BaseException:
            helmfile.stop(early)
            raise
    if args.format == "json":
        return emit.objects_to_json(rendered.documents)
    return rendered.text
