"""GitHub Actions workflows: one per source repository, for seed B's path.

plan (which modules changed, their tags: `shipspec plan` in the shipspec image)
→ build (a matrix: buildx, registry login, layer cache, push)
→ deploy (`shipspec bump` for every module whose build succeeded: one commit).

Security as the best workflows do it: no permission at the top, the least per job
(`packages: write` only where images are pushed); third-party actions pinned to full
commit SHAs; no `${{ }}` expression inside `run:` (values reach scripts through `env:`);
checkout never keeps credentials; secrets only through `secrets.*`. Deploys of one
environment run one after another and are never cancelled half-way.
"""

from __future__ import annotations

import re
from typing import Any

from shipspec import prebuild
from shipspec.emit import Commented, to_yaml_stream
from shipspec.images import registry_host
from shipspec.render import (
    CI_ENGINE,
    GIT_STALL_LIMITS,
    REGISTRY_TOKEN,
    SHELL_FETCH,
    Gap,
    Rendered,
    RenderOptions,
    refuse_gaps,
    shipspec_image_gap,
    ssh_deploy_gap,
)
from shipspec.spec import DEFAULT_REGISTRY_TOKEN, GITHUB_COM_API, Module, Spec

# Full commit SHAs of the tags in the comments, read from each action's repository (a tag
# can move; a commit cannot). Each runs on Node.js 24 (`runs.using: node24` in its
# action.yml): from June 2026 GitHub's runner runs an action written for Node.js 20 on
# Node.js 24 and warns on every job that uses one (actions/runner v2.336.0,
# src/Runner.Worker/Handlers/HandlerFactory.cs).
ACTIONS = {
    "checkout": Commented("actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1",
                          "v7.0.1"),
    "buildx": Commented("docker/setup-buildx-action@37fe631027851001ddb9b187196cc803df7f5f0e",
                        "v4.3.0"),
    "login": Commented("docker/login-action@4907a6ddec9925e35a0a9e82d7399ccc52663121",
                       "v4.1.0"),
    "build": Commented("docker/build-push-action@53b7df96c91f9c12dcc8a07bcb9ccacbed38856a",
                       "v7.3.0"),
    "java": Commented("actions/setup-java@b6effb05e454b25005698d916606bdc6ffcbf961", "v5.7.0"),
    "node": Commented("actions/setup-node@820762786026740c76f36085b0efc47a31fe5020", "v7.0.0"),
}
# "A matrix will generate a maximum of 256 jobs per workflow run" (GitHub's workflow syntax,
# jobs.<job_id>.strategy.matrix): the build job is one matrix of the modules a push touches.
MATRIX_JOBS = 256
# GitHub starts no run of a workflow file larger than 500 KB (512,000 bytes; its Actions
# limits), and says so nowhere but on a failed run's page, or not at all: adopters measured
# 510,313 bytes run and 513,306 not (jikig-ai/soleur#8361), 501,036 run and 512,782 not
# (QwenLM/qwen-code#9517). A workflow grows with its modules (each module's name is in it
# twice, as the build job's outputs) and with ci.runsOn.
WORKFLOW_FILE_BYTES = 512_000
_GITHUB_SLUG = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+")  # owner/name, from a GitHub URL
# The plan and deploy jobs run in the shipspec image, whose own user (999, for the Argo CD
# sidecar) cannot write what the runner made for the job: the workspace and the file-command
# files (GITHUB_OUTPUT, GITHUB_STATE) belong to the runner's user, and actions/checkout fails
# with EACCES. GitHub supports job containers that run as root only (actions/runner#1214,
# actions/checkout#956). As root, git refuses the runner-owned checkout ("dubious
# ownership") until it is named safe, which actions/checkout does only in its own temporary
# configuration: the plan script names it (the deploy job runs no git in the checkout).
JOB_CONTAINER_OPTIONS = "--user root"

# Lines of a subshell that gives its git commands the job's token (SOURCE_TOKEN) for the
# GitHub it runs on, as actions/checkout does: an Authorization header in configuration
# from the environment (GIT_CONFIG_COUNT/KEY/VALUE: git 2.31+), never in an argument or
# a URL, and no redirect followed (git would send the header to the server it names).
_GIT_AUTHORIZATION = """\
  basic=$(printf 'x-access-token:%s' "$SOURCE_TOKEN" | base64 | tr -d '\\n')
  n=${GIT_CONFIG_COUNT:-0}
  export GIT_CONFIG_COUNT=$((n + 2)) "GIT_CONFIG_KEY_$n=http.$GITHUB_SERVER_URL/.extraheader"
  export "GIT_CONFIG_VALUE_$n=AUTHORIZATION: basic $basic"
  export "GIT_CONFIG_KEY_$((n + 1))=http.followRedirects" "GIT_CONFIG_VALUE_$((n + 1))=false"
"""

# The push's files, as GitHub's push event lists them to Tekton's triggers: a file moved
# out of a module changes it too (--no-renames: the old path and the new), and paths come
# verbatim (-z; git quotes a name in Korean or with an accent otherwise). And the spec before
# the push: a module added to it, or built or deployed otherwise, is built though none of its
# files changed. Every module is built where there is no commit before (a new branch, a run
# started by hand: workflow_dispatch has no `before`) or no spec before (the push that
# adopts shipspec). Only the pushed commit is checked out, and the one before is fetched
# beside it at depth 1, with the job's token (checkout keeps none): the server sends what
# differs between the two. A whole history (fetch-depth 0: every branch and tag) took a
# large mono repository minutes to clone, on every push. A commit before that cannot be
# fetched (gone in a force push) builds everything, with a warning on the run's page.
_PLAN = """\
set -eu
git config --global --add safe.directory "$GITHUB_WORKSPACE"
""" + SHELL_FETCH + """# neither a new branch's zeros nor a run started by hand's nothing
case "$BEFORE" in *[!0]*) (
""" + _GIT_AUTHORIZATION + """  fetch --quiet --no-tags --depth=1 origin "$BEFORE"
) || echo "::warning::the commit before this push cannot be fetched: every module is built"
esac
if git cat-file -e "$BEFORE^{commit}" 2>/dev/null &&
   [ "$(git cat-file -t "$BEFORE:shipspec.yaml" 2>/dev/null)" = blob ]; then
  git diff --name-only --no-renames -z "$BEFORE" "$GITHUB_SHA" > "$RUNNER_TEMP/changed"
  mkdir -p "$RUNNER_TEMP/before"
  git cat-file blob "$BEFORE:shipspec.yaml" > "$RUNNER_TEMP/before/shipspec.yaml"
  set -- --changed-files "$RUNNER_TEMP/changed" \\
    --spec-before "$RUNNER_TEMP/before/shipspec.yaml"
fi
shipspec plan shipspec.yaml --repository "$GITHUB_REPOSITORY" --branch "$GITHUB_REF_NAME" \\
  --sha "$GITHUB_SHA" --github-output "$GITHUB_OUTPUT" "$@"
"""

# How long each job of shipspec's own, plan and deploy, may run (see where it is set).
SHIPSPEC_JOB_TIMEOUT_MINUTES = 30

# The deploy step first learns which commits were pushed to the branch after its own: the
# checkout fetched it up to this run's commit only (actions/checkout points origin/<branch>
# there), and deploys queue in the order their builds end, so a newer commit's may have
# landed already. `bump --newer-on` keeps a tag of theirs rather than undo it. The fetch
# sends the job's token (_GIT_AUTHORIZATION). Each module is bumped to the tag
# plan chose for it (`tags`: module=tag), the one its build pushed: computed again here, a
# tag could differ (one of {{ date }}, after midnight) and name no image. A module is
# deployed when its build leg set its output (`_BUILT`), read from BUILT, the build job's
# outputs as toJSON writes them (`"built-<module>": "<value>"`; module names are DNS
# labels, so none needs an escape in the pattern): `true`, or with deploy.pinDigest the
# digest the leg pushed. Not one expression per module in a variable of its own: GitHub
# parses a string of several `${{ }}` as one format() expression, and refuses the whole
# workflow when an expression passes 21,000 characters (actions/runner,
# src/Sdk/WorkflowParser/ObjectTemplating/TemplateReader.cs and
# src/Sdk/Expressions/ExpressionConstants.cs): 200 modules of 30-character names did.
#
# A run cancelled while the step runs: the runner stops the step by signalling the `docker
# exec` it started (actions/runner v2.336.0, src/Runner.Worker/Handlers/StepHost.cs and
# src/Runner.Sdk/ProcessInvoker.cs: SIGINT, then SIGTERM), and docker passes no signal of an
# exec on to the process in the container (moby/moby#9098). The bump went on alone until the
# job's end removed the container (`docker rm --force`: SIGKILL), leaving a change it had
# queued to land with the next batch and a lock it held taken until its lease ran out. So
# the shell leaves its PID where the step that runs on cancellation (`_STOP_DEPLOY`) finds it,
# and passes a SIGTERM from there on to the bump, which then takes its change back as on
# Tekton (cli/termination.py); it starts no bump once stopped. The trap interrupts `wait`,
# so the loop waits again while the bump is still ending. Both steps run in the job's
# container, and RUNNER_TEMP is the job's own. The branch's fetch is asked again after a
# failure (SHELL_FETCH), with the token's settings after those the job's environment gives
# git already (a self-hosted runner's proxy: bump/git.py, config_settings).
_DEPLOY = """\
set -eu
echo "$$" > "$RUNNER_TEMP/shipspec-deploy.pid"
stopped=
trap 'stopped=1; [ -z "${bump:-}" ] || kill -TERM "$bump" 2>/dev/null || :' TERM
git config --global --add safe.directory "$GITHUB_WORKSPACE"
""" + SHELL_FETCH + """(
""" + _GIT_AUTHORIZATION + """  fetch --quiet --no-tags origin \\
    "+refs/heads/$GITHUB_REF_NAME:refs/remotes/origin/$GITHUB_REF_NAME"
)
set --
for tagged in $TAGS; do
  module=${tagged%%=*}
  output=$(printf '%s\\n' "$BUILT" |
    sed -n "s/.*\\"built-$module\\": *\\"\\([^\\"]*\\)\\".*/\\1/p")
  case "$output" in
    '') echo "::warning::not deploying $module: its build did not succeed" ;;
    true) set -- "$@" --module "$module" --tag "$tagged" ;;
    *) set -- "$@" --module "$module" --tag "$tagged" --digest "$module=$output" ;;
  esac
done
[ -z "$stopped" ] || exit 143
shipspec bump shipspec.yaml "$@" --sha "$GITHUB_SHA" --env "$ENVIRONMENT" \\
  --newer-on "origin/$GITHUB_REF_NAME" &
bump=$!
[ -z "$stopped" ] || kill -TERM "$bump"
while :; do
  status=0
  wait "$bump" || status=$?
  kill -0 "$bump" 2>/dev/null || break
done
echo "$status" > "$RUNNER_TEMP/shipspec-deploy.status"
exit "$status"
"""
# Runs only when the run was cancelled (`if: cancelled()`), in the same container: stops the
# deploy step's bump, waits for it (a withdrawal is one push; a minute at most here, then
# the job's end kills it) and says what became of it.
_STOP_DEPLOY = """\
deploy=$(cat "$RUNNER_TEMP/shipspec-deploy.pid" 2>/dev/null) || exit 0
kill -TERM "$deploy" 2>/dev/null || :
for _ in $(seq 300); do
  kill -0 "$deploy" 2>/dev/null || break
  sleep 0.2
done
if kill -0 "$deploy" 2>/dev/null; then
  echo "::warning::the bump did not stop within a minute: the job's end kills it, and a \\
change it queued may land with the next deploy of the branch"
  exit 0
fi
status=$(cat "$RUNNER_TEMP/shipspec-deploy.status" 2>/dev/null) || status=
case "$status" in
  '') echo "the run was cancelled before the bump started: nothing was deployed" ;;
  0) echo "the bump had ended before the run was cancelled: its change has landed" ;;
  143) echo "::warning::the run was cancelled: the bump stopped and took its change back if \\
it was still queued; one a lock holder had written already has landed (see the deployment \\
repository's history)" ;;
  *) echo "the bump had ended with exit status $status" ;;
esac
"""

# Each module's build deploys on its own, as on Tekton: one that fails holds back no other.
# A matrix job's legs share one set of outputs; the runner sends only those that are not
# empty (actions/runner v2.336.0, src/Runner.Worker/JobExtension.cs: "Skip output ... since
# it's empty"), so an output of each module's own name is set by its leg alone, once the
# image is pushed, and the deploy job reads their names (in toJSON: actionlint refuses an
# object filter, `outputs.*`, on an object of strings). A module left out is a warning on
# the run's page (a `::warning::` line, actions/runner src/Runner.Common/ActionCommand.cs);
# module names are DNS labels, so none can end that command early.
_BUILT = 'echo "built-$MODULE=true" >> "$GITHUB_OUTPUT"\n'
# With deploy.pinDigest the output is the digest build-push-action pushed (its `digest`
# output), checked first: a missing or odd one fails the leg rather than deploy unpinned.
_BUILT_PINNED = """\
if ! printf '%s\\n' "$DIGEST" | grep -Eqx 'sha256:[0-9a-f]{64}'; then
  echo "::error::the build of $MODULE gave no image digest to pin (deploy.pinDigest)"
  exit 1
fi
echo "built-$MODULE=$DIGEST" >> "$GITHUB_OUTPUT"
"""


def _runs_on(spec: Spec) -> str | list[str]:
    """The runners' labels, `ubuntu-latest` unless ci.runsOn says: one label as a string,
    several as a list (a runner needs them all); a new list for each job."""
    labels = spec.ci.runs_on
    return labels[0] if len(labels) == 1 else list(labels)


def _deploy_secrets(spec: Spec) -> list[str]:
    """The secrets the deploy step reads, each passed under its own name: the token, and
    the signing key when deploy.signing names a variable."""
    signing = spec.deploy.signing
    return [spec.deploy.token_env,
            *([signing.key_env] if signing is not None and signing.key_env else [])]


# The registry the job's own token pushes to and pulls from.
GHCR = "ghcr.io"


def _in_shipspec_image(spec: Spec, registry: str) -> dict[str, Any]:
    """The permissions and container of a job that runs in the shipspec image. On ghcr.io,
    a team's image is private unless made public: the runner pulls it with the job's token,
    which reads packages only when asked to (and the package must grant this repository
    read access). Said as credentials, as self-hosted runners need; hosted ones log in so
    by themselves (actions/runner ContainerOperationProvider.cs,
    UpdateRegistryAuthForGitHubToken). In the registry the modules push to (`registry`,
    a private Harbor, say), it is pulled with the token they push with."""
    image = spec.ci.images["shipspec"]
    permissions: dict[str, Any] = {"contents": "read"}
    container: dict[str, Any] = {"image": image, "options": JOB_CONTAINER_OPTIONS}
    if registry_host(image) == GHCR:
        permissions["packages"] = Commented("read", "pull the shipspec image")
        container["credentials"] = {"username": "${{ github.actor }}",
                                    "password": "${{ secrets.GITHUB_TOKEN }}"}
    elif registry_host(image) == registry:
        container["credentials"] = _registry_login(spec)
    return {"permissions": permissions, "container": container}


def _registry_login(spec: Spec) -> dict[str, str]:
    """The user and token the modules' images are pushed with."""
    return {"username": spec.registry.username or "${{ github.actor }}",
            "password": f"${{{{ secrets.{spec.registry.token_secret} }}}}"}


def missing_settings(spec: Spec) -> list[Gap]:
    """What a spec must add before its workflows can be rendered: (field, message, hint)."""
    gaps: list[Gap] = []
    if "shipspec" not in spec.ci.images:
        gaps.append(shipspec_image_gap("the workflows' plan and deploy jobs run"))
    gaps += ssh_deploy_gap(spec, f"the token of the secret {spec.deploy.token_env}")
    gaps += _secret_name_gaps(spec)
    for slug, modules in _repositories(spec, ()).items():
        if not _GITHUB_SLUG.fullmatch(slug):
            gaps.append((("modules", modules[0].name),
                         f"{slug} is not a GitHub repository: GitHub Actions runs only there",
                         "for a repository elsewhere, use ci.engine: tekton and start its "
                         "runs by hand (shipspec generate --run <commit>)"))
            continue
        if modules[0].github_api != GITHUB_COM_API:
            # The workflows run on github.com's hosted runners (ubuntu-latest), use actions
            # pinned to github.com's commits and push to ghcr.io with the job's token: a
            # Server has none of these as such.
            gaps.append((("modules", modules[0].name),
                         f"{slug} is on a GitHub Enterprise Server, and the workflows "
                         "shipspec writes are for github.com (its hosted runners, actions "
                         "and ghcr.io)", "use ci.engine: tekton, whose Triggers take the "
                         "Server's webhooks"))
            continue
        registries = sorted({registry_host(module.image) for module in modules})
        if len(registries) > 1:
            first = registry_host(modules[0].image)
            pushing = next(m for m in modules if registry_host(m.image) != first)
            gaps.append((("modules", pushing.name, "image"),
                         f"the modules of {slug} push to several registries "
                         f"({', '.join(registries)}): its workflow logs in to one",
                         "push the images of one source repository to one registry"))
        if spec.registry.token_secret == DEFAULT_REGISTRY_TOKEN and registries != [GHCR]:
            gaps.append((REGISTRY_TOKEN,
                         f"the job's {DEFAULT_REGISTRY_TOKEN} pushes images to ghcr.io only, "
                         f"and the modules of {slug} push to {', '.join(registries)}",
                         "name the repository secret that holds a token of that registry in "
                         "registry.tokenSecret, and its user in registry.username"))
        if not any(module.deployments for module in modules):
            gaps.append((("modules", modules[0].name),
                         f"no module of {slug} deploys to an environment: its workflow "
                         "would run on no branch",
                         "declare environments (each names the branch that deploys to it)"))
        gaps += _environments_sharing_a_branch(spec, slug, modules)
        gaps += _deployment_branches_of_a_push(slug, modules)
        for branch, built in sorted(_built_from(modules).items()):
            if len(built) > MATRIX_JOBS:
                gaps.append((CI_ENGINE,
                             f"{len(built)} modules of {slug} build from its branch {branch} "
                             f"({built[MATRIX_JOBS]} is the first past {MATRIX_JOBS}): GitHub "
                             f"runs at most {MATRIX_JOBS} jobs of a matrix, so a push that "
                             "changes them all (a branch's first push, a file they share) "
                             "would fail to start",
                             f"build at most {MATRIX_JOBS} from one branch of a repository, "
                             "or use ci.engine: tekton"))
    return gaps


def _secret_name_gaps(spec: Spec) -> list[Gap]:
    """The workflows read these settings as repository secrets, which GitHub refuses to
    create under a name starting with GITHUB_ (in any case): the secret would always be
    empty. GITHUB_TOKEN itself is the job's own token, which in the deploy job may only
    read this repository."""
    signing = spec.deploy.signing
    registry_secret = spec.registry.token_secret
    named = [(("deploy", "tokenEnv"), spec.deploy.token_env),
             (("deploy", "signing", "keyEnv"), signing.key_env if signing else None),
             (("registry", "tokenSecret"), registry_secret
              if registry_secret.upper() != DEFAULT_REGISTRY_TOKEN else None)]
    gaps: list[Gap] = []
    for path, name in named:
        if name is None or not name.upper().startswith("GITHUB_"):
            continue
        if path == ("deploy", "tokenEnv") and name.upper() == DEFAULT_REGISTRY_TOKEN:
            gaps.append((path, f"{name} is the job's own token: in the deploy job it may only "
                               "read this repository, and it reaches no other",
                         "store a token that may push to the deployment repository as a "
                         "repository secret, such as DEPLOY_TOKEN, and name that here"))
        else:
            gaps.append((path, f"{name} cannot be a secret: GitHub refuses secret names that "
                               "start with GITHUB_, so the workflow would read an empty value",
                         "store the value as a repository secret under another name, and "
                         "name that here"))
    return gaps


def _environments_sharing_a_branch(spec: Spec, slug: str, modules: list[Module]) -> list[Gap]:
    """A push runs the workflow once, and its deploy job deploys to one environment (plan,
    `environment:`): a branch of the repository that deploys to two failed every run's
    plan ("branch main deploys to several environments")."""
    deploying: dict[str, dict[str, Module]] = {}  # branch: {environment: a module}
    for module in modules:
        for deployment in module.deployments:
            deploying.setdefault(deployment.trigger_branch, {}).setdefault(
                deployment.environment, module)
    gaps: list[Gap] = []
    for branch, environments in sorted(deploying.items()):
        first, *others = sorted(environments, key=spec.environment_names.index)
        for other in others:
            module = environments[other]
            declared = any(e.name == other and e.branch == branch for e in spec.environments)
            gaps.append((("environments", other, "branch") if declared
                         else ("modules", module.name, "gitBranch"),
                         f"the branch {branch} of {slug} deploys to {first} and to {other}: "
                         "a push runs its workflow once, and that deploys to one environment",
                         f"deploy {other} from a branch of its own (or promote to it: "
                         "shipspec promote), or use ci.engine: tekton, which runs each "
                         "environment's pipeline"))
    return gaps


def _deployment_branches_of_a_push(slug: str, modules: list[Module]) -> list[Gap]:
    """The deploy job bumps every module a push built in one `shipspec bump`, one commit to
    one branch of the deployment repository: modules of one push that deploy to two
    branches (a seed A overlay's branch beside deploy.branch) failed every deploy that
    built both ("these modules deploy to different branches")."""
    pushed: dict[str, dict[str, list[str]]] = {}  # branch: {deployment branch: modules}
    environments: dict[str, str] = {}  # branch: the environment it deploys to (the first)
    for module in modules:
        for deployment in module.deployments:
            if not deployment.targets:
                continue  # built and pushed only: its tag is bumped nowhere
            environments.setdefault(deployment.trigger_branch, deployment.environment)
            pushed.setdefault(deployment.trigger_branch, {}).setdefault(
                deployment.deploy_branch, []).append(module.name)
    gaps: list[Gap] = []
    for branch, deploying in sorted(pushed.items()):
        if len(deploying) > 1:
            second = list(deploying.values())[1]
            environment = environments[branch]
            gaps.append((("modules", second[0]),
                         f"a push to {branch} of {slug} deploys modules to several "
                         "branches of the deployment repository ("
                         + "; ".join(f"{target}: {', '.join(names)}" for target, names
                                     in sorted(deploying.items()))
                         + "), and its deploy job writes one commit to one branch",
                         f"deploy the environment's modules to one branch (environments."
                         f"{environment}.deployBranch, kustomize.branch), or use ci.engine: "
                         "tekton, which deploys each module in a run of its own"))
    return gaps


def _built_from(modules: list[Module]) -> dict[str, list[str]]:
    """{branch: the modules a push to it builds}."""
    branches: dict[str, list[str]] = {}
    for module in modules:
        for branch in sorted({d.trigger_branch for d in module.deployments}):
            branches.setdefault(branch, []).append(module.name)
    return branches


def _repositories(spec: Spec, selected: tuple[str, ...]) -> dict[str, list[Module]]:
    """{owner/name as first spelt: its modules}; GitHub names ignore case, so `XiiLab/app`
    and `xiilab/app` are one repository with one workflow."""
    repositories: dict[str, list[Module]] = {}
    spellings: dict[str, str] = {}
    for module in spec.enabled_modules:
        if not selected or module.name in selected:
            slug = spellings.setdefault(module.repo_slug.lower(), module.repo_slug)
            repositories.setdefault(slug, []).append(module)
    return repositories


def render(spec: Spec, options: RenderOptions) -> list[Rendered]:
    refuse_gaps(spec, missing_settings(spec))
    rendered = _workflows(spec, options)
    refuse_gaps(spec, [gap for item in rendered if (gap := _too_large(item))])
    return rendered


def too_large_workflows(spec: Spec) -> list[Gap]:
    """What `generate` would refuse of a spec with no missing settings: workflow files too
    large for GitHub to run (for `validate`, which renders nothing otherwise)."""
    return [gap for item in _workflows(spec, RenderOptions()) if (gap := _too_large(item))]


def _workflows(spec: Spec, options: RenderOptions) -> list[Rendered]:
    # owner/name: two repositories of one name (team-a/app, team-b/app) get two files.
    return [Rendered(f"{slug}/.github/workflows/shipspec.yaml",
                     _workflow(spec, modules, options))
            for slug, modules in _repositories(spec, options.modules).items()]


def _too_large(item: Rendered) -> Gap | None:
    """The workflow file, as generate writes it, if GitHub would never start a run of it."""
    size = len(to_yaml_stream([item.document]).encode())
    if size <= WORKFLOW_FILE_BYTES:
        return None
    return (("modules",),
            f"{item.path} would be {size:,} bytes: GitHub runs no workflow file over "
            f"{WORKFLOW_FILE_BYTES:,} bytes (a push starts no run of it, or one that fails "
            "with no job)",
            "shorten the module names of that repository (each is written twice) or its "
            "ci.runsOn, or use ci.engine: tekton")


def _prebuild_steps(spec: Spec, modules: list[Module]) -> list[dict[str, Any]]:
    """The pre-build of the matrix's module (prebuild.py, the Tekton pre-build's script):
    the toolchain, then the module's project from the root. No dependency cache: this job
    pushes images, and a cache that another run wrote could slip into one (zizmor's
    cache-poisoning audit); Tekton keeps a cache per module, apart from pull requests'."""
    tools = {module.build for module in modules} - {"none"}
    steps: list[dict[str, Any]] = []
    if tools & prebuild.JDK_TOOLS:
        steps.append({"name": "set up the JDK", "if": _built_with(prebuild.JDK_TOOLS),
                      "uses": ACTIONS["java"],
                      "with": {"distribution": "temurin", "java-version": spec.ci.java}})
    if tools & prebuild.NODE_TOOLS:
        steps.append({"name": "set up Node.js", "if": _built_with(prebuild.NODE_TOOLS),
                      "uses": ACTIONS["node"],
                      # setup-node v5 and later cache npm's downloads unless told not to
                      # (when package.json names npm as its packageManager)
                      "with": {"node-version": spec.ci.node, "package-manager-cache": False}})
    if tools:
        steps.append({"name": "pre-build", "if": "matrix.build != 'none'",
                      "env": {"BUILD_TOOL": "${{ matrix.build }}",
                              "CONTEXT": "${{ matrix.context }}",
                              "BUILD_TASK": "${{ matrix.build_task }}"},
                      "run": prebuild.SCRIPT})
    return steps


def _built_with(tools: frozenset[str]) -> str:
    """The condition of a step for the matrix's modules built with one of `tools`."""
    return " || ".join(f"matrix.build == '{tool}'" for tool in sorted(tools))


def _checkout(depth: int) -> dict[str, Any]:
    return {"uses": ACTIONS["checkout"],
            "with": {"fetch-depth": depth, "persist-credentials": False}}


def _literal(text: str) -> str:
    """`text` as a GitHub filter pattern that matches it and nothing else: `*`, `?`, `+`,
    `!` and brackets are filter syntax there (a branch `release+1` would match releasee1),
    and a backslash makes them literal (GitHub's filter pattern cheat sheet)."""
    return re.sub(r"([*?+!\[\]])", r"\\\1", text)


def _workflow(spec: Spec, modules: list[Module], options: RenderOptions) -> dict[str, Any]:
    branches = sorted({_literal(d.trigger_branch) for m in modules for d in m.deployments
                       if options.environment in (None, d.environment)})
    # No `paths` filter, though modules name their paths: GitHub matches one against the
    # first 300 files of a push's diff only, and skips the run when none of those match
    # (the paths filter's documentation, "Diffs are limited to 300 files"): a push of 400
    # files in docs/ and one in a module would build nothing. The plan job reads the whole
    # diff and builds nothing when no module is touched.
    push: dict[str, Any] = {"branches": branches}
    registry = registry_host(modules[0].image)  # the only one: missing_settings
    pinned = spec.deploy.pin_digest
    # a module without a target (values, overlay, manifest) is built for others to deploy
    deploying = [m for m in modules if any(d.targets for d in m.deployments)]
    return {
        "name": "shipspec",
        # by hand ("Run workflow"): every module of the repository that deploys from the
        # branch chosen is built and deployed
        "on": {"push": push, "workflow_dispatch": {}},
        "permissions": {},
        # One run per commit at a time (a re-run waits for the one in progress); never one
        # per branch: a run skipped as pending would never build the modules its push
        # changed, since the next run's plan compares only with its own push's before.
        "concurrency": {
            "group": Commented("shipspec-${{ github.ref }}-${{ github.sha }}",
                               "one run per commit; each push builds what it changed"),
            "cancel-in-progress": False},
        # every job's: its checkout, the plan's and the deploy's fetches (GIT_STALL_LIMITS)
        "env": dict(GIT_STALL_LIMITS),
        "jobs": {
            "plan": {
                "name": "plan",
                "runs-on": _runs_on(spec),
                **_in_shipspec_image(spec, registry),
                # a plan takes seconds after its fetches, each given up when it stalls;
                # left to GitHub's default, a plan hung otherwise held a runner six hours
                "timeout-minutes": SHIPSPEC_JOB_TIMEOUT_MINUTES,
                "outputs": {name: f"${{{{ steps.plan.outputs.{name} }}}}"
                            for name in ("matrix", "tags", "environment", "any")},
                "steps": [
                    _checkout(1),
                    {"id": "plan", "name": "decide what to build",
                     "env": {"BEFORE": "${{ github.event.before }}",
                             "SOURCE_TOKEN": "${{ github.token }}"}, "run": _PLAN},
                ],
            },
            "build": {
                "name": "build ${{ matrix.module }}",
                "needs": "plan",
                "if": "needs.plan.outputs.any == 'true'",
                # only of modules that deploy: the deploy job runs when one of them built
                **({"outputs": {f"built-{m.name}":
                                f"${{{{ steps.built.outputs.built-{m.name} }}}}"
                                for m in deploying}} if deploying else {}),
                "runs-on": _runs_on(spec),
                # the job's token pushes to ghcr.io; another registry takes its own token
                "permissions": {"contents": "read", **(
                    {"packages": Commented("write", "push the module's image")}
                    if registry == GHCR else {})},
                **({"timeout-minutes": spec.ci.timeout_minutes}
                   if spec.ci.timeout_minutes is not None else {}),
                "strategy": {"fail-fast": False,
                             "matrix": "${{ fromJSON(needs.plan.outputs.matrix) }}"},
                "steps": [
                    _checkout(1),
                    *_prebuild_steps(spec, modules),
                    {"uses": ACTIONS["buildx"]},
                    {"uses": ACTIONS["login"],
                     "with": {"registry": registry, **_registry_login(spec)}},
                    {**({"id": "push"} if pinned else {}), "uses": ACTIONS["build"],
                     "with": {"context": "${{ matrix.context }}",
                              "file": "${{ matrix.dockerfile }}",
                              "tags": "${{ matrix.image }}:${{ matrix.tag }}",
                              "push": True,
                              "cache-from": "type=gha,scope=${{ matrix.module }}",
                              "cache-to": "type=gha,mode=max,scope=${{ matrix.module }}"}},
                    {"id": "built", "name": "tell the deploy job",
                     "env": {"MODULE": "${{ matrix.module }}",
                             **({"DIGEST": "${{ steps.push.outputs.digest }}"} if pinned
                                else {})},
                     "run": _BUILT_PINNED if pinned else _BUILT},
                ],
            },
            "deploy": {
                "name": "deploy",
                "needs": ["plan", "build"],
                # after the build, whether or not every leg succeeded; not when none did
                "if": "${{ !cancelled() && needs.build.result != 'skipped' && "
                      "contains(toJSON(needs.build.outputs), 'built-') }}",
                "runs-on": _runs_on(spec),
                **_in_shipspec_image(spec, registry),
                # The GitHub environment of the shipspec environment: its secrets,
                # protection rules and reviewers stand between a push and a deployment.
                "environment": "${{ needs.plan.outputs.environment }}",
                # One deploy of an environment at a time, the others waiting in line: by
                # default a group keeps one waiting job and cancels it when another comes,
                # and the modules of the canceled one were never deployed. `queue: max`
                # keeps up to 100 waiting (GitHub, 2026-05-07: "concurrency groups now allow
                # larger queues").
                "concurrency": {
                    "group": "shipspec-deploy-${{ needs.plan.outputs.environment }}",
                    "cancel-in-progress": False, "queue": "max"},
                # A job hung by the network held every later deploy of its environment in
                # that line for GitHub's default of six hours; a bump ends well within this
                # (10 minutes in the queue at most, three attempts of each git command, a
                # stalled transfer given up: bump/git.py). Waiting in line does not count.
                "timeout-minutes": SHIPSPEC_JOB_TIMEOUT_MINUTES,
                "steps": [
                    _checkout(1),
                    {"name": "bump the deployment repository",
                     "env": {"TAGS": "${{ needs.plan.outputs.tags }}",
                             "BUILT": "${{ toJSON(needs.build.outputs) }}",
                             "ENVIRONMENT": "${{ needs.plan.outputs.environment }}",
                             "SOURCE_TOKEN": "${{ github.token }}",
                             **{name: f"${{{{ secrets.{name} }}}}"
                                for name in _deploy_secrets(spec)}},
                     "run": _DEPLOY},
                    {"name": "stop the bump", "if": "${{ cancelled() }}",
                     "run": _STOP_DEPLOY},
                ],
            },
        },
    }
