"""The Tasks of the generated Tekton CI: tag, build, deploy, report, cleanup, dispatch.

Shipspec emits its own Tasks instead of referring to catalog ones: they work air-gapped,
linters can read them, and every image in them is pinned by digest.

No run-time value is ever written into a `script:`. Parameters, results of other tasks and
webhook data reach a script only through `env`, and reach a program that is not a shell
only through `args`; a branch called `main;$(curl x)` stays a string (Tekton catalog
guidance on script injection). The only Tekton variables inside scripts are
`$(results.NAME.path)`, paths Tekton itself chooses.
"""

from __future__ import annotations

from typing import Any

from shipspec import prebuild
from shipspec.render import GIT_STALL_LIMITS, SHELL_FETCH
from shipspec.render.tekton_names import shared_name
from shipspec.spec import Spec

SPEC_MOUNT = "/etc/shipspec"
SPEC_FILE = f"{SPEC_MOUNT}/shipspec.yaml"

Object = dict[str, Any]


def spec_configmap_name(spec: Spec) -> str:
    return shared_name(spec, "spec")


def _param(name: str, description: str, default: str | None = None) -> Object:
    param: Object = {"name": name, "type": "string", "description": description}
    if default is not None:
        param["default"] = default
    return param


# Pod Security: each step gets the tightest securityContext its tool allows (the CI
# namespace needs the `baseline` level, docs/guides/tekton.md). Seccomp is set once for the
# whole pod, in the PipelineRuns' podTemplate, so it covers Tekton's own init containers too.
NON_ROOT: Object = {"runAsNonRoot": True, "runAsUser": 65532, "runAsGroup": 65532,
                    "allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}
# The shipspec image runs as the user its Dockerfile creates.
SHIPSPEC_USER: Object = {**NON_ROOT, "runAsUser": 999, "runAsGroup": 999}
# Steps that share the module's claims run as root, the user of the git, gradle, maven and
# node images: files on the claims stay owned by one user across runs, which fsGroup
# cannot promise (hostPath-backed provisioners ignore it). No other capability than
# reading, writing and owning files of another mode (npm restores tarball owners).
ROOT_ON_CLAIMS: Object = {"allowPrivilegeEscalation": False,
                          "capabilities": {"drop": ["ALL"],
                                           "add": ["CHOWN", "DAC_OVERRIDE", "FOWNER"]}}
# kaniko unpacks base images with their owners and runs RUN lines as any user of the image,
# setuid programs included: root with the runtime's default capabilities.
KANIKO_ROOT: Object = {"runAsUser": 0}
# buildah creates mounts and namespaces to run a Dockerfile's RUN lines.
BUILDAH_PRIVILEGED: Object = {"privileged": True}


def _env(**values: str) -> list[Object]:
    return [{"name": name, "value": value} for name, value in values.items()]


SIGNING_KEY = "signing-key"  # the key of deploy.credentialsSecret that holds deploy.signing's


def _secret_env(name: str, secret: str, key: str, *, optional: bool = False) -> Object:
    reference: Object = {"name": secret, "key": key}
    if optional:
        reference["optional"] = True
    return {"name": name, "valueFrom": {"secretKeyRef": reference}}


# ci.caBundle, where every step of a Task that reaches a server over TLS (git, curl, the
# image builders, shipspec's forge API) reads it: each tool's own variable, since Debian's
# git (GnuTLS) reads GIT_SSL_CAINFO and not SSL_CERT_FILE, which OpenSSL (Python, curl)
# and Go (kaniko, buildah) read; Node.js adds NODE_EXTRA_CA_CERTS to its own. The file
# replaces each tool's list but Node's: hence the public CAs in the bundle.
_CA_DIRECTORY, _CA_NAME = "/etc/shipspec-ca", "ca.crt"
_CA_FILE = f"{_CA_DIRECTORY}/{_CA_NAME}"
_CA_VARIABLES = ("SSL_CERT_FILE", "GIT_SSL_CAINFO", "CURL_CA_BUNDLE", "NODE_EXTRA_CA_CERTS")
# cleanup talks to the API alone; dispatch fetches the source too
_NETWORK_ROLES = frozenset({"tag", "build", "deploy", "report", "dispatch"})


def _task(spec: Spec, role: str, description: str, task_spec: Object, metadata: Object) -> Object:
    bundle = spec.ci.ca_bundle
    if bundle is not None and role in _NETWORK_ROLES:
        task_spec = {
            **task_spec,
            "stepTemplate": {
                "env": _env(**dict.fromkeys(_CA_VARIABLES, _CA_FILE)),
                "volumeMounts": [{"name": "ca-bundle", "mountPath": _CA_DIRECTORY,
                                  "readOnly": True}]},
            "volumes": [*task_spec.get("volumes", []), {"name": "ca-bundle", "configMap": {
                "name": bundle.config_map, "items": [{"key": bundle.key, "path": _CA_NAME}]}}],
        }
    return {
        "apiVersion": "tekton.dev/v1",
        "kind": "Task",
        "metadata": {"name": shared_name(spec, role), **metadata},
        "spec": {"description": description, **task_spec},
    }


def _spec_volume(spec: Spec) -> Object:
    return {"name": "spec", "configMap": {"name": spec_configmap_name(spec)}}


_SPEC_MOUNT = {"name": "spec", "mountPath": SPEC_MOUNT, "readOnly": True}
# The deploy TaskRun's own emptyDir, and the repository of the source's commits in it.
_HISTORY_MOUNT = {"name": "history", "mountPath": "/history"}
_HISTORY_REPOSITORY = "/history/source"
# $HOME of the steps that run as a user of their own: an emptyDir of Tekton's, where its
# entrypoint copies the git credentials of the ServiceAccount's Secrets (.gitconfig,
# .git-credentials, .ssh) before the step's command.
_TEKTON_HOME = "/tekton/home"
# ssh reads its config and known hosts from the home directory in /etc/passwd, never from
# $HOME (tektoncd/pipeline v1.15.0 docs/auth.md): pointed at what Tekton copied there, so
# that an ssh-auth Secret fetches a source repository over SSH.
# A connection that dies without a word (a NAT or a load balancer that drops it) hung ssh,
# and the step, until the run's timeout: ssh asks the server every 15 s and gives up after
# 8 questions unanswered, two minutes, as git gives up a stalled HTTP transfer
# (GIT_STALL_LIMITS, in the same steps' environment).
_SSH_ALIVE = "ssh -o ServerAliveInterval=15 -o ServerAliveCountMax=8"
_SSH_COMMAND = (f"{_SSH_ALIVE} -F {_TEKTON_HOME}/.ssh/config "
                f"-o UserKnownHostsFile={_TEKTON_HOME}/.ssh/known_hosts")


def _shipspec_step(spec: Spec, verb: str, arguments: list[str]) -> Object:
    """`shipspec VERB` on the mounted spec for the run's module; values go in as argv."""
    return {
        "name": verb,
        "image": spec.ci.images["shipspec"],
        "command": ["shipspec"],
        "args": [verb, SPEC_FILE, "--module", "$(params.module)", *arguments],
        "securityContext": SHIPSPEC_USER,
        "volumeMounts": [_SPEC_MOUNT],
    }


def _source_git_step(spec: Spec, name: str, script: str, mounts: list[Object],
                     **values: str) -> Object:
    """A step of git on the source repository at the run's revision, in the shipspec image
    as its user: with the credentials Tekton copies to $HOME, ssh pointed at them; `values`
    go to the script's environment too (REPO_URL: the repository's URL, where the Task has
    it as a parameter)."""
    return {"name": name, "image": spec.ci.images["shipspec"], "script": script,
            "env": [{"name": "HOME", "value": _TEKTON_HOME},
                    *_env(GIT_SSH_COMMAND=_SSH_COMMAND, **GIT_STALL_LIMITS,
                          REVISION="$(params.revision)", **values)],
            "securityContext": SHIPSPEC_USER, "volumeMounts": mounts}


def tag_task(spec: Spec, metadata: Object) -> Object:
    """`shipspec tag`: the one place a build's image tag is decided (bump reuses it); and
    whether the run builds at all, for a pull request whose files may not touch the
    module's paths."""
    return _task(spec, "tag", "Compute the image tag of a module for a commit, and whether "
                 "a pull request touches the module.", {
        "params": [
            _param("module", "Module name in shipspec.yaml."),
            _param("environment", "Environment the build deploys to."),
            _param("revision", "Commit SHA that is built."),
            _param("branch", "Branch that was pushed."),
            _param("repo-url", "Git URL of the source repository."),
            _param("base-revision", "A pull request's base commit: the module builds only "
                   "when the pull request touches its paths. Empty: it builds.", ""),
        ],
        "results": [{"name": "tag", "type": "string", "description": "The image tag."},
                    {"name": "touched", "type": "string",
                     "description": "true when the run builds the module, else false."}],
        "volumes": [_spec_volume(spec), {"name": "changes", "emptyDir": {}}],
        "steps": [
            _source_git_step(spec, "changes", _CHANGES_SCRIPT, [_CHANGES_MOUNT],
                             BASE="$(params.base-revision)", REPO_URL="$(params.repo-url)"),
            {**_shipspec_step(spec, "tag", [
                "--env", "$(params.environment)", "--sha", "$(params.revision)",
                "--branch", "$(params.branch)", "--output", "$(results.tag.path)",
                "--changed-files", _CHANGED_FILES,
                "--touched-output", "$(results.touched.path)"]),
             "volumeMounts": [_SPEC_MOUNT, {**_CHANGES_MOUNT, "readOnly": True}]},
        ],
    }, metadata)


# How every script that fetches the source starts. The revision comes from the webhook:
# accept a commit id and nothing else, so that it can never be read as an option by git.
# Then `fetch`, asked again after a failure (SHELL_FETCH).
_FETCHING = """\
#!/bin/sh
set -eu
case "$REVISION" in
  *[!0-9a-f]* | "") echo "not a commit id: $REVISION" >&2; exit 1 ;;
esac
""" + SHELL_FETCH

# The tag TaskRun's own emptyDir, and the files a pull request changes, written there when
# they can be told.
_CHANGES_MOUNT = {"name": "changes", "mountPath": "/changes"}
_CHANGED_FILES = "/changes/files"
# How far back each side of a pull request is fetched to find where they meet; further,
# the module builds, as any would without paths.
_PULL_REQUEST_DEPTH = 200


def _changes_script(builds: str, url: str = "") -> str:
    """The script that lists the files between BASE and REVISION in /changes/files, when
    they can be told; `builds` says what builds when they cannot; `url`, a line that sets
    REPO_URL, where the step's environment does not.

    A push's Trigger chose the module by the files its commits list. A pull request's event
    lists none: the Trigger of a module with paths (or in the deployment repository, whose
    deploys may come as pull requests) gives its base commit, and the files are those git
    diff finds between where the two sides meet and the head (what GitHub shows as the pull
    request's files). A dispatch run does the same for a push, from the commit the branch
    was at. Commits and trees only (renames off: telling them apart would fetch files),
    into a repository the step makes in the emptyDir (git refuses one whose directory
    another user owns), with nothing checked out. Not a bare one: git finds that from the
    directory only where safe.bareRepository allows (a hardened image's /etc/gitconfig may
    say `explicit`, git 2.38+)."""
    return _FETCHING + url + f"""\
# no base, or a new branch's (a push's `before` is all zeros): the files are not known
if [ -z "$BASE" ] || [ -z "$(printf '%s' "$BASE" | tr -d 0)" ]; then
  exit 0
fi
case "$BASE" in
  *[!0-9a-f]*) echo "not a commit id: $BASE" >&2; exit 1 ;;
esac
git init -q /changes/source
cd /changes/source
git remote add origin "$REPO_URL"
# A base gone since (a branch pushed over) fails the fetch: {builds}, and a head
# that cannot be fetched fails the build's own fetch.
if ! fetch -q --filter=blob:none --depth {_PULL_REQUEST_DEPTH} origin "$BASE" "$REVISION"
then
  echo "cannot fetch $BASE and $REVISION: {builds}"
elif base=$(git merge-base "$BASE" "$REVISION"); then
  git diff --no-renames --name-only -z "$base" "$REVISION" > {_CHANGED_FILES}
  echo "the files changed since $base: $(tr -cd '\\0' < {_CHANGED_FILES} | wc -c)"
else
  echo "$BASE and $REVISION meet in none of their last {_PULL_REQUEST_DEPTH} commits: {builds}"
fi
"""


_CHANGES_SCRIPT = _changes_script("the module builds")

# A run removes its own checkout when it succeeds; failed runs leave theirs. Nothing runs
# for a day (PipelineRuns time out long before), so older directories on the module's claim
# are left-overs, which each build removes before it fetches: in a step of its own, the one
# that mounts the claim's every run, before any of the source is there. Housekeeping: a
# build beside this one may remove the same directories, and the build goes on whatever
# happens here.
_REMOVE_STALE_RUNS = """\
#!/bin/sh
set -u
stale=$(find /runs -mindepth 1 -maxdepth 1 -type d -mmin +1440 | wc -l)
if find /runs -mindepth 1 -maxdepth 1 -type d -mmin +1440 -exec rm -rf {} +; then
  echo "removed $stale stale run directories"
else
  echo "could not remove every stale run directory; the next build tries again"
fi
"""

_FETCH = _FETCHING + """\
date +%s > /work/.started
rm -rf /work/src
mkdir -p /work/src
cd /work/src
git init -q
git remote add origin "$REPO_URL"
fetch -q --depth 1 origin "$REVISION"
git checkout -q --detach FETCH_HEAD
echo "fetched $REPO_URL at $REVISION"
"""

_CHECK_CACHE = """\
#!/bin/sh
set -eu
bytes=$(( $(du -sk /cache | cut -f1) * 1024 ))
printf '%s' "$bytes" > "$(results.cache-bytes-before.path)"
if [ "$bytes" -gt 4096 ]; then
  echo "cache ($CACHE_SCOPE): warm, $bytes bytes before the build"
else
  echo "cache ($CACHE_SCOPE): cold"
fi
"""


_BUILDAH = """\
#!/bin/sh
set -eu
buildah --storage-driver=vfs bud --format=oci -f "/work/src/$DOCKERFILE" \\
  -t "$DESTINATION" "/work/src/$CONTEXT"
if [ "$NO_PUSH" = "true" ]; then
  echo "pull request build: image not pushed"
  printf '%s' "" > "$(results.IMAGE_DIGEST.path)"
  exit 0
fi
buildah --storage-driver=vfs push --digestfile "$(results.IMAGE_DIGEST.path)" \\
  "$DESTINATION" "docker://$DESTINATION"
"""

_POST_BUILD = """\
#!/bin/sh
set -eu
started=$(cat /work/.started)
seconds=$(( $(date +%s) - started ))
bytes=$(( $(du -sk /cache | cut -f1) * 1024 ))
printf '%s' "$seconds" > "$(results.build-seconds.path)"
printf '%s' "$bytes" > "$(results.cache-bytes-after.path)"
# Only a pushed image is named: Tekton Chains signs what IMAGE_URL and IMAGE_DIGEST name.
if [ "$NO_PUSH" = "true" ]; then pushed=""; else pushed=$DESTINATION; fi
printf '%s' "$pushed" > "$(results.IMAGE_URL.path)"
echo "build took ${seconds}s; cache ($CACHE_SCOPE) now $bytes bytes"
# The checkout is not needed any more; the module's next build removes what failed runs
# leave (_REMOVE_STALE_RUNS).
rm -rf /work/src
"""


_REGISTRY_RETRIES = 3


def build_task(spec: Spec, metadata: Object) -> Object:
    """Fetch, pre-build, image build and push in one pod, on the module's own claims.

    One pod, with the claims as plain volumes rather than workspaces: Tekton's affinity
    assistant (coschedule: workspaces, the default) lets a TaskRun mount one PVC-backed
    workspace only, and gives concurrent runs of a module separate assistants that can
    pin them to different nodes, where a ReadWriteOnce claim cannot follow. Each run
    mounts only its own directory (`runs/<uid>`) and its own cache scope (`branch` or
    `pull-requests`), so a pull request's code can neither read another run's checkout
    nor write the cache that branch builds trust.
    """
    images = spec.ci.images
    common_env = _env(CACHE_SCOPE="$(params.cache-scope)",
                      DESTINATION="$(params.image):$(params.image-tag)")
    work = {"name": "work", "mountPath": "/work", "subPath": "runs/$(params.run-id)"}
    cache = {"name": "cache", "mountPath": "/cache", "subPath": "$(params.cache-scope)"}
    if spec.ci.builder == "kaniko":
        image_step: Object = {
            "name": "build-image",
            "image": images["kaniko"],
            "command": ["/kaniko/executor"],
            "args": ["--context=dir:///work/src/$(params.context)",
                     "--dockerfile=/work/src/$(params.dockerfile)",
                     "--destination=$(params.image):$(params.image-tag)",
                     "--digest-file=$(results.IMAGE_DIGEST.path)",
                     "--no-push=$(params.no-push)",
                     # kaniko sends a push or a base image's download once by default (its
                     # flags' defaults are 0: cmd/executor/cmd/root.go), and one 5xx of a
                     # registry failed a whole build: three more, 1, 2 and 4 s apart
                     # (pkg/util/util.go Retry). buildah's default is three already.
                     f"--push-retry={_REGISTRY_RETRIES}",
                     f"--image-download-retry={_REGISTRY_RETRIES}"],
            "env": [{"name": "DOCKER_CONFIG",
                     "value": "$(workspaces.registry-credentials.path)"}],
            "securityContext": KANIKO_ROOT,
            "volumeMounts": [work],
        }
    else:
        image_step = {
            "name": "build-image",
            "image": images["buildah"],
            "script": _BUILDAH,
            "env": [*_env(DOCKERFILE="$(params.dockerfile)", CONTEXT="$(params.context)",
                          NO_PUSH="$(params.no-push)",
                          REGISTRY_AUTH_FILE="$(workspaces.registry-credentials.path)"
                                             "/config.json"),
                    *common_env],
            "securityContext": BUILDAH_PRIVILEGED,
            "volumeMounts": [work],
        }
    return _task(spec, "build", "Fetch a commit, pre-build it with the module's cache, and "
                 "build and push its image.", {
        "params": [
            _param("repo-url", "Clone URL of the module's repository."),
            _param("revision", "Commit SHA to build."),
            _param("run-id", "Unique id of this run: its directory on the workspace claim."),
            _param("cache-scope", "branch, or pull-requests for untrusted code."),
            _param("workspace-claim", "The module's workspace PersistentVolumeClaim."),
            _param("cache-claim", "The module's cache PersistentVolumeClaim."),
            _param("image", "Image repository to push to."),
            _param("image-tag", "Tag of the image."),
            _param("dockerfile", "Dockerfile, relative to the repository root."),
            _param("context", "Build context, relative to the repository root.", "."),
            _param("build-tool", "none, gradle, maven or npm.", "none"),
            _param("build-task", "What the pre-build builds in the module's project.", ""),
            _param("prebuild-image", "Image of the pre-build step (matches build-tool)."),
            _param("no-push", "true to build without pushing (pull requests).", "false"),
        ],
        "workspaces": [{"name": "registry-credentials", "readOnly": True,
                        "description": "A docker config.json allowed to push the image "
                                       "(an empty directory for pull requests)."}],
        "results": [
            # The names Tekton Chains looks for to sign the image and attest how it was
            # built (tektoncd/chains pkg/artifacts/signable.go, ExtractOCIImagesFromResults)
            {"name": "IMAGE_DIGEST", "type": "string",
             "description": "Digest of the image built (pushed, except for pull requests)."},
            {"name": "IMAGE_URL", "type": "string",
             "description": "The image pushed, <repository>:<tag> (empty for pull "
                            "requests)."},
            {"name": "build-seconds", "type": "string", "description": "Fetch to push."},
            {"name": "cache-bytes-before", "type": "string",
             "description": "Size of the cache before the build."},
            {"name": "cache-bytes-after", "type": "string",
             "description": "Size of the cache after it; the difference is what it missed."},
        ],
        "volumes": [
            {"name": "work",
             "persistentVolumeClaim": {"claimName": "$(params.workspace-claim)"}},
            {"name": "cache", "persistentVolumeClaim": {"claimName": "$(params.cache-claim)"}},
        ],
        "steps": [
            {"name": "remove-stale-runs", "image": images["git"], "script": _REMOVE_STALE_RUNS,
             "securityContext": ROOT_ON_CLAIMS,
             "volumeMounts": [{"name": "work", "mountPath": "/runs", "subPath": "runs"}]},
            {"name": "fetch", "image": images["git"], "script": _FETCH,
             "env": _env(REPO_URL="$(params.repo-url)", REVISION="$(params.revision)",
                         GIT_SSH_COMMAND=_SSH_ALIVE,  # root's own ~/.ssh
                         **GIT_STALL_LIMITS),
             "securityContext": ROOT_ON_CLAIMS, "volumeMounts": [work]},
            {"name": "check-cache-status", "image": images["git"], "script": _CHECK_CACHE,
             "env": common_env, "securityContext": ROOT_ON_CLAIMS, "volumeMounts": [cache]},
            # The pull request's own code runs here: no capability beyond ROOT_ON_CLAIMS.
            # One image per build tool, chosen by the trigger; the script (prebuild.py) is
            # the GitHub Actions pre-build's too, and only reads env.
            {"name": "prebuild", "image": "$(params.prebuild-image)",
             "script": prebuild.SCRIPT,
             "env": _env(BUILD_TOOL="$(params.build-tool)", CONTEXT="$(params.context)",
                         BUILD_TASK="$(params.build-task)", SOURCE_ROOT="/work/src",
                         GRADLE_USER_HOME="/cache/gradle", MAVEN_REPOSITORY="/cache/maven",
                         NPM_CACHE="/cache/npm"),
             "securityContext": ROOT_ON_CLAIMS, "volumeMounts": [work, cache]},
            image_step,
            {"name": "post-build-analysis", "image": images["git"], "script": _POST_BUILD,
             "env": [*_env(NO_PUSH="$(params.no-push)"), *common_env],
             "securityContext": ROOT_ON_CLAIMS,
             "volumeMounts": [work, cache]},
        ],
    }, metadata)


# Runs end in any order: before the bump, the commits pushed to the branch after the one
# built, whose runs may have deployed already (bump --newer-on keeps their tags). Commits
# only (a server that filters sends no tree and no file), into a repository with nothing
# checked out, not a bare one (see _CHANGES_SCRIPT), which bump --source-repository reads;
# made by the step in the emptyDir, which the kubelet owns: git refuses a repository whose
# directory another user owns.
_HISTORY_SCRIPT = _FETCHING + f"""\
git init -q {_HISTORY_REPOSITORY}
cd {_HISTORY_REPOSITORY}
git remote add origin "$REPO_URL"
fetch -q --filter=tree:0 --depth 1 origin "$REVISION"
fetch -q --filter=tree:0 origin "+refs/heads/$BRANCH:refs/remotes/origin/$BRANCH"
"""


def deploy_task(spec: Spec, metadata: Object) -> Object:
    """The history of the branch, then `shipspec bump`: write the new tag into the
    deployment repository unless a newer commit's run deployed one already."""
    home = {"name": "HOME", "value": _TEKTON_HOME}
    env: list[Object] = [home]
    pinned = spec.deploy.pin_digest  # the build's IMAGE_DIGEST comes as a param
    if spec.deploy.credentials_secret:
        env.append(_secret_env(spec.deploy.token_env, spec.deploy.credentials_secret, "token"))
        signing = spec.deploy.signing
        if signing is not None and signing.key_env is not None:
            # the signing key sits beside the token, in the same Secret
            env.append(_secret_env(signing.key_env, spec.deploy.credentials_secret,
                                   SIGNING_KEY))
    return _task(spec, "deploy", "Write a module's new image tag into the deployment "
                 "repository.", {
        "params": [
            _param("module", "Module name."),
            _param("environment", "Environment to deploy to."),
            _param("tag", "Image tag that was pushed."),
            _param("revision", "Commit SHA that was built."),
            _param("branch", "Branch that was pushed."),
            _param("repo-url", "Git URL of the source repository."),
            *([_param("digest", "Digest of the image that was pushed (deploy.pinDigest).")]
              if pinned else []),
        ],
        "volumes": [_spec_volume(spec), {"name": "history", "emptyDir": {}}],
        "steps": [
            _source_git_step(spec, "history", _HISTORY_SCRIPT, [_HISTORY_MOUNT],
                             BRANCH="$(params.branch)", REPO_URL="$(params.repo-url)"),
            {**_shipspec_step(spec, "bump", [
                "--env", "$(params.environment)", "--tag", "$(params.tag)",
                *(["--digest", "$(params.digest)"] if pinned else []),
                "--sha", "$(params.revision)", "--newer-on", "origin/$(params.branch)",
                "--source-repository", _HISTORY_REPOSITORY]),
             "env": env, "volumeMounts": [_SPEC_MOUNT, _HISTORY_MOUNT]},
        ],
    }, metadata)


# How long one call of the report may take. A call that stalls (a proxy that holds the
# connection and passes nothing on) held the step until the run's `finally` timeout
# (REPORT_TIMEOUT, 5 minutes), which failed the run and left the commit without a status.
# curl counts a call cut off at this time as transient and asks again (--retry): four
# attempts of each of the two calls, and the pauses between them, take under 3 minutes.
REPORT_CALL_SECONDS = 20

_REPORT = """\
#!/bin/sh
set -eu
case "$STATUS" in
  Succeeded | Completed) state=success ;;
  None) state=pending ;;
  *) state=failure ;;
esac
description="$RUN: $STATUS"
# Secrets go to curl through files, never through its command line; the token only to
# the API of the GitHub that hosts the repository. A finally task that fails fails the
# run: one 502 of the API turned a run whose builds succeeded red. curl asks again after
# a transient failure (408, 429, 5xx, a time-out, a refused connection), 1, 2, 4 s later;
# a call that takes longer than --max-time counts as timed out.
if [ -n "${GITHUB_TOKEN:-}" ] && [ -z "$GITHUB_API" ]; then
  echo "no commit status: $REPOSITORY is not on github.com (see source.provider)"
elif [ -n "${GITHUB_TOKEN:-}" ]; then
  printf 'Authorization: Bearer %s\\n' "$GITHUB_TOKEN" > /tmp/auth-header
  jq -n --arg state "$state" --arg context "shipspec/$MODULE" --arg description "$description" \\
    '{state: $state, context: $context, description: $description}' |
    curl -fsS --retry 3 --retry-connrefused --max-time CALL_SECONDS -X POST \\
      -H @/tmp/auth-header \\
      -H 'Accept: application/vnd.github+json' \\
      --data @- "$GITHUB_API/repos/$REPOSITORY/statuses/$REVISION" > /dev/null
  echo "reported $state to $REPOSITORY@$REVISION"
fi
# A dispatch run (ci.triggers: dispatch) tells the chat of its failures alone: its runs
# tell of theirs.
if [ -n "${NOTIFY_URL:-}" ] && { [ "$NOTIFY_ON" = any ] || [ "$state" = failure ]; }; then
  # A Secret made from a file keeps the file's last newline, which ended curl's quoted URL
  # (curl: URL using bad/illegal format) and failed the run; quotes and backslashes are
  # escaped as curl's --config reads them.
  url=$(printf '%s' "$NOTIFY_URL" | tr -d '\\r\\n' | sed 's/[\\\\"]/\\\\&/g')
  printf 'url = "%s"\\n' "$url" > /tmp/notify.config
  jq -n --arg text "$MODULE $REVISION: $description" '{text: $text}' |
    curl -fsS --retry 3 --retry-connrefused --max-time CALL_SECONDS -X POST \\
      -H 'Content-Type: application/json' \\
      --config /tmp/notify.config \\
      --data @- > /dev/null
  echo "notified"
fi
""".replace("CALL_SECONDS", str(REPORT_CALL_SECONDS))


def report_task(spec: Spec, metadata: Object) -> Object:
    """A run's outcome as a GitHub commit status and, when configured, a chat message."""
    env = _env(STATUS="$(params.status)", MODULE="$(params.module)",
               REVISION="$(params.revision)", REPOSITORY="$(params.repository)",
               GITHUB_API="$(params.github-api)", RUN="$(params.run)",
               NOTIFY_ON="$(params.notify-on)")
    if spec.source.status_secret:
        env.append(_secret_env("GITHUB_TOKEN", spec.source.status_secret, "token"))
    if spec.ci.notify_secret:
        env.append(_secret_env("NOTIFY_URL", spec.ci.notify_secret, "url"))
    return _task(spec, "report", "Report the outcome of a run.", {
        "params": [
            _param("status", "Aggregate status of the pipeline's tasks."),
            _param("module", "Module name."),
            _param("revision", "Commit SHA that was built."),
            _param("repository", "owner/name of the repository on GitHub."),
            _param("github-api", "The REST API of the GitHub hosting it; empty for none."),
            _param("run", "Name of the PipelineRun."),
            _param("notify-on", "any: a chat message of every outcome; failure: of "
                   "failures alone.", "any"),
        ],
        "steps": [{"name": "report", "image": spec.ci.images["tools"], "script": _REPORT,
                   "env": env, "securityContext": NON_ROOT}],
    }, metadata)


# Finished runs only, oldest first: a run is done when its Succeeded condition is True or
# False (Tekton v1.15.0, pkg/apis/pipeline/v1/pipelinerun_types.go, IsDone). A cleanup
# started while a branch's build still deployed deleted that run, and its deploy with it.
# The project's runs are listed once and kept by module; the cleanup runs (each closed pull
# request starts one) are kept as one more group. Deleted without waiting: Tekton Results'
# watcher holds a finalizer on each run until it is stored, up to its grace period
# (tektoncd/results docs/watcher/README.md, "Finalizer for blocking deletion"), and kubectl
# waits for finalizers by default; a run already being deleted is not counted again.
_PRUNE_RUNS = """\
#!/bin/sh
set -eu
groups='[.items[] | select(.metadata.deletionTimestamp == null and any(
  .status.conditions[]?; .type == "Succeeded" and (.status == "True" or .status == "False")))
  | {name: .metadata.name, created: .metadata.creationTimestamp,
     group: (if .metadata.labels["shipspec.dev/cleanup-of"] then "the cleanup"
             elif .metadata.labels["shipspec.dev/dispatch-of"] then "the dispatch"
             else .metadata.labels["shipspec.dev/module"] end)}
  | select(.group != null)] | group_by(.group) | map(sort_by(.created))'
runs=$(kubectl get pipelineruns -l "shipspec.dev/project=$PROJECT" -o json)
finished=$(printf '%s' "$runs" | jq -c "$groups")
printf '%s' "$finished" |
  jq -r --argjson keep "$KEEP" '.[] | .[:([length - $keep, 0] | max)][] | .name' |
  xargs -r kubectl delete --wait=false pipelinerun
printf '%s' "$finished" | jq -r --argjson keep "$KEEP" '.[] | "kept the newest "
  + "\\([length, $keep] | min) of \\(length) finished runs of \\(.[0].group)"'
"""


def cleanup_task(spec: Spec, metadata: Object) -> Object:
    return _task(spec, "cleanup", "Prune the project's old PipelineRuns.", {
        "params": [_param("keep-runs", "How many finished PipelineRuns of a module to keep.")],
        "steps": [
            {"name": "prune-pipelineruns", "image": spec.ci.images["tools"],
             "script": _PRUNE_RUNS,
             # kubectl keeps its discovery cache below $HOME (an emptyDir of Tekton's)
             "env": _env(PROJECT=spec.project, KEEP="$(params.keep-runs)", HOME=_TEKTON_HOME),
             "securityContext": NON_ROOT},
        ],
    }, metadata)


# The dispatch run's own emptyDir: the repository's URL, then the runs to start. The step
# that fetches the source (and runs git on what the webhook's sender pushed) only reads it.
_PLAN_MOUNT = {"name": "plan", "mountPath": "/plan"}
_SOURCE_URL = "/plan/source-url"
_DISPATCHED_RUNS = "/plan/runs.json"
_DISPATCH_CHANGES = _changes_script("every module of the branch builds",
                                    f'REPO_URL=$(cat {_SOURCE_URL})\n')
# kubectl refuses a List of no objects, "no objects passed to create" (kubernetes/kubectl
# pkg/cmd/create/create.go, RunCreate, at dee3483a3); a List's items are created one by one,
# a generateName each, in the namespace of --namespace where they name none
_START_RUNS = f"""\
#!/bin/sh
set -eu
if [ "$(jq '.items | length' {_DISPATCHED_RUNS})" -gt 0 ]; then
  kubectl create --namespace "$NAMESPACE" -f {_DISPATCHED_RUNS} -o name
fi
"""


# What a dispatch run is told of its event (tekton_triggers, dispatch_triggers), in order.
DISPATCH_PARAMS = {
    "event": "push, or pull-request (opened or updated).",
    "repository": "owner/name of the repository the event comes from.",
    "branch": "The ref pushed, or the pull request's base branch.",
    "revision": "The commit pushed, or the pull request's head commit.",
    "base-revision": "The commit the branch was at before the push, or the pull request's "
                     "base commit.",
}


def dispatch_task(spec: Spec, metadata: Object, selection: list[str]) -> Object:
    """ci.triggers: dispatch. From the event's repository, branch and commits: the files it
    changes (git), the runs of the modules they touch (`shipspec dispatch`, with generate's
    `selection` of environment, modules and labels), and those runs created (kubectl)."""
    def dispatch(name: str, arguments: list[str], mounts: list[Object]) -> Object:
        return {"name": name, "image": spec.ci.images["shipspec"], "command": ["shipspec"],
                "args": ["dispatch", SPEC_FILE, "--repository", "$(params.repository)",
                         *arguments],
                "securityContext": SHIPSPEC_USER, "volumeMounts": [_SPEC_MOUNT, *mounts]}

    return _task(spec, "dispatch", "Start the runs of the modules an event changes.", {
        "params": [_param(name, description) for name, description in DISPATCH_PARAMS.items()],
        "volumes": [_spec_volume(spec), {"name": "changes", "emptyDir": {}},
                    {"name": "plan", "emptyDir": {}}],
        "steps": [
            dispatch("source", ["--source-output", _SOURCE_URL], [_PLAN_MOUNT]),
            _source_git_step(spec, "changes", _DISPATCH_CHANGES,
                             [_CHANGES_MOUNT, {**_PLAN_MOUNT, "readOnly": True}],
                             BASE="$(params.base-revision)"),
            dispatch("plan", [
                "--event", "$(params.event)", "--branch", "$(params.branch)",
                "--revision", "$(params.revision)", "--changed-files", _CHANGED_FILES,
                "--output", _DISPATCHED_RUNS, *selection],
                [{**_CHANGES_MOUNT, "readOnly": True}, _PLAN_MOUNT]),
            {"name": "start-runs", "image": spec.ci.images["tools"], "script": _START_RUNS,
             # kubectl keeps its discovery cache below $HOME (an emptyDir of Tekton's)
             "env": _env(NAMESPACE="$(context.taskRun.namespace)", HOME=_TEKTON_HOME),
             "securityContext": NON_ROOT,
             "volumeMounts": [{**_PLAN_MOUNT, "readOnly": True}]},
        ],
    }, metadata)
