"""The JSON Schema of shipspec.yaml: what `shipspec schema` prints and what `check.py` enforces.

One description serves both, so editor completion (yaml-language-server) and shipspec's own
validation can never disagree. This dict is its only home: no copy is committed, the file
editors read is `shipspec schema`'s output, stamped with the version that wrote it.
Draft-07, because editors support it best. `x-hint` is our own keyword: the hint printed
when a value fails that part of the schema.
"""

from __future__ import annotations

from typing import Any

from shipspec import __version__
from shipspec.images import IMAGE_NAMES

# A DNS-1123 label: what Kubernetes accepts as the name of most objects.
# A build task (Gradle task or project path, Maven phase or plugin:goal, npm script): no
# spaces, so it stays one argument.
BUILD_TASK = r"^:?[A-Za-z0-9_][A-Za-z0-9_.:-]*$"
VERSION = r"^[0-9]+(\.[0-9]+){0,2}$"
BUILD_TASK_FIELD = {
    "type": "string",
    "pattern": BUILD_TASK,
    "description": "What the pre-build builds: a Gradle task (run in the module's project; "
                   "':' first for a full path), a Maven phase or goal, an npm script "
                   "(default: assemble, package, build).",
    "x-hint": "a task name such as bootJar, without spaces",
}
DNS_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
# A Kubernetes resource quantity such as 5Gi or 500M.
QUANTITY = r"^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$"
# A compute resource's quantity (500m, 2, 4Gi, 1e9): the pattern of Tekton v1.15.0's
# PipelineRun CRD (taskRunSpecs[].computeResources, Kubernetes' own Quantity), less the
# sign, which Kubernetes refuses for compute resources, and with an exponent of whole
# numbers as resource.ParseQuantity reads it (apimachinery pkg/api/resource/quantity.go),
# of two digits at most: no machine has 1e100 bytes, and checking a request against its
# limit exactly would take for ever with 1e99999999.
COMPUTE_QUANTITY = (r"^(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))"
                    r"(([KMGTPE]i)|[numkMGTPE]|([eE][+-]?[0-9]{1,2}))?$")
# A branch name as `git check-ref-format --branch` accepts it (git 2.39: object-name.c's
# strbuf_check_branch_ref refuses a leading '-' and HEAD, refs.c's check_refname_format the
# rest: no component starting with '.' or ending in '.lock', no '..', '@{', '//').
# A leading '-' matters most: git would read such a branch as an option. And the branch's
# name, not its ref: `refs/heads/main` is a branch `refs/heads/refs/heads/main` to git, and
# no push (GITHUB_REF_NAME, the webhook's ref) ever matched it.
BRANCH = (r"^(?!-|HEAD$|refs/|\.|.*/\.|.*\.lock(/|$)|/|.*//|.*\.\.|.*@\{|.*/$|.*\.$)"
          r"[^\x00-\x20~^:?*\[\\\x7f]+$")
# A dotted key path into a values file: astrago.core
# Dotted keys of a values file: each part becomes a YAML key, and YAML readers take simple
# keys of at most 1024 characters, so parts stay far below that.
VALUES_KEY = r"^[A-Za-z0-9_-]{1,128}(\.[A-Za-z0-9_-]{1,128})*$"
# Kubernetes' own rules: a key of a Secret's or ConfigMap's data (IsConfigMapKey), a DNS
# subdomain (StorageClass names).
CONFIG_KEY = r"^[-._a-zA-Z0-9]+$"
DNS_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
GIT_URL = r"^(https://|http://|ssh://|file://|git@)[^\s]+$"
API_URL = r"^https?://[^\s/?#]+(/[^\s?#]*)?$"

PINNED_IMAGE = r"^[^\s@]+@sha256:[0-9a-f]{64}$"
# A GitHub Actions runner label: GitHub's own (ubuntu-24.04) or a self-hosted runner's
RUNNER_LABEL = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$"

NAME_HINT = "use lower-case letters, digits and '-', starting and ending with a letter or digit"


def _string(description: str, **extra: Any) -> dict[str, Any]:
    # Kubernetes names: a DNS label is at most 63 characters, a subdomain 253.
    limit = {DNS_LABEL: 63, DNS_SUBDOMAIN: 253, CONFIG_KEY: 253, VALUES_KEY: 512}.get(
        extra.get("pattern", ""))
    if limit and "maxLength" not in extra:
        extra["maxLength"] = limit
    return {"type": "string", "minLength": 1, "description": description, **extra}


def _path(description: str, **extra: Any) -> dict[str, Any]:
    return _string(description, **{"x-path": True}, **extra)


def _object(
    description: str, properties: dict[str, Any], required: tuple[str, ...] = (),
    **extra: Any,
) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "type": "object",
        "description": description,
        "properties": properties,
        "additionalProperties": False,
        **extra,
    }
    if required:
        schema["required"] = list(required)
    return schema


def _git_url(description: str) -> dict[str, Any]:
    return _string(
        description,
        pattern=GIT_URL,
        examples=["https://github.com/<org>/<repo>.git"],
        **{"x-hint": "give a clone URL such as https://github.com/org/repo.git"},
    )


def _branch(description: str) -> dict[str, Any]:
    return _string(
        description, pattern=BRANCH, examples=["main"],
        **{"x-hint": "give a valid git branch name such as main (the name alone, not "
                     "refs/heads/main)"}
    )


_TEMPLATE_NOTE = "Jinja2 (sandboxed) when it contains '{{'"


# The compute resources a build may name: (description, example) of each.
_COMPUTE_AMOUNTS = {
    "cpu": ("CPU, in cores or thousandths of one: '2', 500m.", "500m or '2'"),
    "memory": ("Memory: 512Mi, 4Gi.", "512Mi or 4Gi"),
    "ephemeral-storage": ("Scratch disk of the steps' containers, where kaniko unpacks the "
                          "base image and writes the layers: 10Gi.", "10Gi"),
}
COMPUTE_RESOURCES = tuple(_COMPUTE_AMOUNTS)


def _compute_resources(description: str) -> dict[str, Any]:
    amounts = {name: _string(text, pattern=COMPUTE_QUANTITY, maxLength=40,
                             **{"x-hint": f"a Kubernetes quantity such as {example} (a plain "
                                          "number is not a string: quote it)"})
               for name, (text, example) in _COMPUTE_AMOUNTS.items()}
    return _object(description, {
        "requests": _object("What the build's pod is given and scheduled by, all its "
                            "steps together.", amounts, examples=[{"memory": "2Gi"}]),
        "limits": _object("What no step of the build may exceed.", amounts,
                          examples=[{"memory": "4Gi"}]),
    })


_MODULE = _object(
    "One service: where its source is, how its image is built, where its tag is deployed.",
    {
        "enabled": {
            "type": "boolean",
            "description": "false keeps the module in the file, rendered nowhere (default: true)",
        },
        "repo": _git_url("The module's source repository (default: source.url)."),
        "paths": {
            "type": "array",
            "description": "Mono repo: only changes to these files, or below these "
                           "directories, build this module (`./core/` is `core/`; not "
                           "patterns: `core/` covers what `core/**` would). The module's "
                           "Dockerfile counts as one of them wherever it is; list the "
                           "build's shared files too (Gradle: settings.gradle, build.gradle, "
                           "gradle/, gradlew; Maven: the root pom.xml; npm: package.json, "
                           "package-lock.json), or a change there builds no module.",
            "items": _path("A path relative to the repository root, such as core/"),
        },
        "context": _path("The image build context, relative to the repository root (default .)"),
        "dockerfile": _path("The Dockerfile, relative to the repository root (default Dockerfile)"),
        "image": _string(
            "Image name under registry.url, or a full image reference (default: module name)."
        ),
        "values": _string(
            "Dotted key of this module in the environment's values file, such as astrago.core.",
            pattern=VALUES_KEY,
            **{"x-hint": "write keys separated by dots, such as astrago.core"},
        ),
        "build": {
            "enum": ["none", "gradle", "maven", "npm"],
            "description": "Pre-build step with a per-module cache (default: ci.build).",
        },
        "buildTask": BUILD_TASK_FIELD,
        "environments": {
            "type": "array",
            "description": "The environments this module deploys to (default: all of them).",
            "items": _string("An environment name from environments"),
        },
        # Seed A's module entry, accepted verbatim.
        "gitBranch": _branch("Pushes to this branch build and deploy this module (seed A)."),
        "moduleName": _string("The image name (seed A's name for `image`)."),
        "dockerfileName": _path("The Dockerfile (seed A's name for `dockerfile`)."),
        "kustomize": _object(
            "A kustomize overlay in the deployment repository that receives the new tag: "
            "its `images:` entry gives every container of the image that tag, so two modules "
            "of one image need overlays of their own.",
            {
                "branch": _branch("Branch of the deployment repository; names the environment."),
                "directory": _path("The overlay directory in the deployment repository.",
                                   examples=["goyoai-system/overlays/dev"]),
                "deploymentName": _string(
                    "Name of the Deployment the overlay produces (seed A's), kept for the "
                    "reader: the bump finds the overlay's `images:` entry by the module's "
                    "image, which kustomize sets in every container of that image."),
            },
            required=("directory",),
        ),
        "manifest": _object(
            "A plain manifest in the deployment repository whose container image gets the tag: "
            "one file for every environment of the module, so each environment needs a "
            "deployBranch of its own, or the module one environment.",
            {
                "file": _path("The manifest file in the deployment repository.",
                              examples=["apps/core/deployment.yaml"]),
                "kind": {"enum": ["Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob",
                                  "Rollout"],
                         "description": "Kind of the workload (default: Deployment); Rollout "
                                        "is Argo Rollouts' (argoproj.io)."},
                "name": _string("Name of the workload (metadata.name).", examples=["core"]),
                "container": _string("Name of the container (default: the module name)."),
            },
            required=("file", "name"),
        ),
        "resources": _compute_resources(
            "Tekton: this module's build resources, each over ci.resources' own (which must "
            "name every one a module sets)."),
        "pvc": _object(
            "Names of the module's PersistentVolumeClaims (seed A).",
            {
                "workspace": _string("Workspace claim name", pattern=DNS_LABEL),
                "cache": _string("Cache claim name", pattern=DNS_LABEL),
            },
        ),
    },
)

HELMFILE_ENVIRONMENT_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$"
# Helm release names: DNS labels of at most 53 characters (helm's own limit).
_RELEASE_NAME = {"pattern": DNS_LABEL, "maxLength": 53, "x-hint": NAME_HINT}
_APP = _object(
    "How Argo CD renders this environment's applications: releases of a helmfile in the "
    "deployment repository, each one Application (targets helmfile and applications).",
    {
        "helmfile": _path("The helmfile, relative to the deployment repository's root.",
                          examples=["helmfile/helmfile.yaml.gotmpl"]),
        "environment": _string("helmfile's environment, -e (default: this environment's "
                               "name).", pattern=HELMFILE_ENVIRONMENT_NAME,
                               **{"x-hint": "letters, digits, '_', '.', '-'"}),
        "releases": {
            "type": "object",
            "description": "The helmfile releases Argo CD deploys, by name.",
            "examples": [{"astrago": {"namespace": "astrago"}}],
            "minProperties": 1,
            "propertyNames": _RELEASE_NAME,
            "additionalProperties": _object(
                "One release: one Application.",
                {
                    "namespace": _string("The release's namespace in the helmfile: the "
                                         "Application's destination namespace.",
                                         pattern=DNS_LABEL, examples=["astrago"],
                                         **{"x-hint": NAME_HINT}),
                    "modules": {
                        "type": "array",
                        "description": "The modules whose images this release deploys: every "
                                       "render must pull each at the tag in the values file.",
                        "items": _string("A module name"),
                    },
                },
                required=("namespace",),
            ),
        },
        "project": _string("The Argo CD project of the Applications (default: default).",
                           pattern=DNS_SUBDOMAIN),
        "destination": _object(
            "The cluster the Applications deploy to (default: the one Argo CD runs in).",
            {
                "server": _string("The cluster's API server URL.", pattern=r"^https?://\S+$"),
                "name": _string("The cluster's name in Argo CD.", pattern=DNS_SUBDOMAIN),
            },
        ),
        "syncOptions": {
            "type": "array",
            "description": "Argo CD sync options of every Application, such as "
                           "CreateNamespace=true; FailOnSharedResource=true is added "
                           "unless FailOnSharedResource is given.",
            "items": _string("Option=value", pattern=r"^[A-Za-z]+=[A-Za-z0-9_.-]+$",
                             **{"x-hint": "such as CreateNamespace=true"}),
        },
        "automated": {"type": "boolean",
                      "description": "Sync automatically, pruning and self-healing "
                                     "(default: false)."},
    },
    required=("helmfile", "releases"),
)

SPEC_SCHEMA: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": "shipspec.yaml",
    "$comment": f"shipspec {__version__}",
    "description": "One file that declares a team's modules and how they ship.",
    "type": "object",
    "additionalProperties": False,
    "required": ["project", "registry", "modules"],
    "properties": {
        "project": _string(
            "Prefix of every generated name.",
            pattern=DNS_LABEL,
            maxLength=40,
            examples=["my-team"],
            **{"x-hint": NAME_HINT},
        ),
        "namespace": _string(
            "Namespace of the CI objects (default: the one they are applied to).",
            pattern=DNS_LABEL,
            maxLength=63,
            **{"x-hint": NAME_HINT},
        ),
        "source": _object(
            "The default source repository of the modules.",
            {
                "url": _git_url("Clone URL of the application repository."),
                "provider": {
                    "enum": ["github", "github-enterprise"], "examples": ["github"],
                    "description": "github (default): repositories on github.com are GitHub's."
                                   " github-enterprise: those on source.url's host too, a "
                                   "GitHub Enterprise Server (its webhooks start the Tekton "
                                   "Triggers' runs, which report commit statuses to its API; "
                                   "ci.engine github-actions does not run there)."},
                "api": _string(
                    "With provider github-enterprise: the Server's REST API (default: "
                    "https://<host>/api/v3). HTTPS, or HTTP to this machine only.",
                    pattern=API_URL,
                    examples=["https://github.example.com/api/v3"],
                    **{"x-hint": "give a URL such as https://github.example.com/api/v3"}),
                "webhookSecret": _string(
                    "Name of the Secret holding the webhook secret; validation is never off.",
                    pattern=DNS_LABEL,
                ),
                "webhookSecretKey": _string(
                    "Key in that Secret (default: secret).", pattern=CONFIG_KEY,
                    **{"x-hint": "letters, digits, '-', '_' and '.'"}),
                "statusSecret": _string(
                    "Tekton: a Secret with a GitHub token (key `token`, scope repo:status): "
                    "runs report commit statuses when it is set (GitHub Actions' jobs are "
                    "checks of the commit already).",
                    pattern=DNS_LABEL,
                ),
                "forkPullRequests": {
                    "type": "boolean",
                    "description": "Tekton: build pull requests whose branch is in a fork "
                                   "(default false: only those of branches in the repository "
                                   "itself). Their code, anyone's on a public repository, "
                                   "runs in your cluster: its Dockerfile's RUN steps, and "
                                   "the gradle, maven or npm build.",
                },
                "credentialsSecret": _string(
                    "Tekton: a private source repository's git credentials, a "
                    "kubernetes.io/basic-auth Secret (ssh-auth, with known_hosts, for an "
                    "SSH url) annotated tekton.dev/git-0 with the repository's host; the "
                    "build's fetch, pull requests' too, and the deploy's history read the "
                    "source with it.",
                    pattern=DNS_LABEL,
                ),
            },
        ),
        "registry": _object(
            "Where images are pushed.",
            {
                "url": _string("Registry and namespace.", examples=["ghcr.io/<org>"]),
                "pushSecret": _string(
                    "Name of a dockerconfigjson Secret allowed to push (Tekton).",
                    pattern=DNS_LABEL,
                ),
                "tokenSecret": _string(
                    "GitHub Actions secret with a token allowed to push images "
                    "(default: the job's own GITHUB_TOKEN, which pushes to ghcr.io only).",
                    pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
                ),
                "username": _string(
                    "GitHub Actions: the user the workflow logs in to the registry as, with "
                    "tokenSecret (default: the GitHub actor, as ghcr.io takes it); such as "
                    "a Docker ID or robot$project+ci.",
                    pattern=r"^[A-Za-z0-9._@+$-]{1,255}$",
                    **{"x-hint": "a registry user name: letters, digits and ._@+$-"},
                ),
            },
            required=("url",),
            examples=[{"url": "ghcr.io/<org>"}],
        ),
        "deploy": _object(
            "The GitOps repository that receives new tags.",
            {
                "url": _git_url("Clone URL of the deployment repository: https:// for "
                                "the CI, which pushes with a token."),
                "branch": _branch("Branch to commit to (default: main)."),
                "credentialsSecret": _string(
                    "Name of the Secret with the push token (Tekton).", pattern=DNS_LABEL
                ),
                "tokenEnv": _string(
                    "Environment variable holding the push token (default: DEPLOY_TOKEN).",
                    pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,127}$",
                    **{"x-hint": "a variable name of at most 128 letters, digits and '_'"},
                ),
                "commitMessage": _string(
                    f"Commit message, one line or several; {_TEMPLATE_NOTE}. Variables: action "
                    "(deploy, rollback, promote), env, branch, sha, sha8, changes, modules, "
                    "lines, project, date.", maxLength=1000),
                "commitLine": _string(
                    "One line per changed module, appended to the message unless it uses "
                    "{{ lines }}; empty for none. Variables: module, old, new, env.",
                    minLength=0, maxLength=200),
                "signing": _object(
                    "Sign every bump commit, for branches that require signed commits. The "
                    "key comes from keyFile or keyEnv (exactly one), never from the command "
                    "line.",
                    {
                        "format": {"enum": ["ssh", "openpgp"], "examples": ["ssh"],
                                   "description": "ssh (git's gpg.format=ssh) or openpgp "
                                                  "(gpg)."},
                        "keyFile": _string("Path of the private key, on the machine that "
                                           "runs bump.", examples=["/secrets/signing-key"]),
                        "keyEnv": _string("Environment variable holding the private key.",
                                          pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,127}$",
                                          examples=["SIGNING_KEY"],
                                          **{"x-hint": "a variable name"}),
                    },
                    required=("format",),
                ),
                "forge": _object(
                    "The forge hosting the deployment repository, whose API opens pull "
                    "requests (default: GitHub for a github.com URL).",
                    {
                        "type": {"enum": ["github"], "examples": ["github"],
                                 "description": "github (github.com or GitHub Enterprise "
                                                "Server)."},
                        "api": _string(
                            "Base URL of the REST API (default: https://api.github.com for "
                            "github.com, else https://<host>/api/v3). HTTPS, or HTTP to this "
                            "machine only.", pattern=API_URL,
                            examples=["https://github.example.com/api/v3"],
                            **{"x-hint": "give a URL such as https://api.github.com"}),
                        "repository": _string(
                            "owner/name of the deployment repository on the forge (default: "
                            "from deploy.url).", pattern=r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$",
                            examples=["<org>/<deployment-repo>"],
                            **{"x-hint": "write owner/name"}),
                    },
                    required=("type",),
                ),
                "authorName": _string("Commit author name (default: shipspec-bot)."),
                "authorEmail": _string("Commit author e-mail (default: shipspec-bot@localhost)."),
                "tagKey": _string("Key of the tag in a module's values (default: imageTag).",
                                  pattern=VALUES_KEY),
                "repositoryKey": _string(
                    "Key of the image repository in a module's values (default: repository).",
                    pattern=VALUES_KEY),
                "registryKey": _string(
                    "Key of the registry in a module's values, for charts that pull "
                    "<registry>/<repository> (Bitnami's image map: registry).",
                    pattern=VALUES_KEY),
                "digestKey": _string("Key of the image digest in a module's values "
                                     "(Bitnami's image map: digest).", pattern=VALUES_KEY),
                "imageKey": _string(
                    "Key of the whole image reference in a module's values, for charts "
                    "that pull one string (image: ghcr.io/o/app:1.2): bump changes its tag "
                    "(and digest) part, --set-repository its repository part. In place of "
                    "tagKey, repositoryKey, registryKey, digestKey and imageDefaults.",
                    pattern=VALUES_KEY, examples=["image"]),
                "pinDigest": {
                    "type": "boolean",
                    "description": "The CI pins each image it deploys to the digest its "
                                   "build pushed (bump --digest): under digestKey, else in "
                                   "the tag's value as tag@digest, so that what runs is the "
                                   "image built even if the tag is pushed again (default "
                                   "false: a chart that puts the tag in a label cannot take "
                                   "tag@digest).",
                },
                "imageDefaults": _string(
                    "Dotted key of a mapping holding the registry and repository that modules "
                    "without their own fall back to, such as astrago.imageDefaults.",
                    pattern=VALUES_KEY,
                    **{"x-hint": "write keys separated by dots, such as astrago.imageDefaults"}),
            },
            required=("url",),
        ),
        "ci": _object(
            "How CI runs.",
            {
                "engine": {"enum": ["tekton", "github-actions"],
                           "description": "Where CI runs (default: tekton)."},
                "triggers": {
                    "enum": ["modules", "dispatch"],
                    "description": "Tekton: how a webhook event chooses the modules it "
                                   "builds. modules (default): a push and a pull-request "
                                   "Trigger of each module and environment, whose filters "
                                   "decide. dispatch: one push and one pull-request Trigger "
                                   "for the project, whose run decides from the files the "
                                   "event changed (as the GitHub Actions plan job does) and "
                                   "starts the runs of those modules alone: for a mono repo "
                                   "of many modules, one pod an event where each pull "
                                   "request started a run of every module, and a few "
                                   "objects where each module had four or more.",
                },
                "builder": {"enum": ["kaniko", "buildah"],
                            "description": "Image builder on Tekton (default: kaniko)."},
                "build": {"enum": ["none", "gradle", "maven", "npm"],
                          "description": "Pre-build with a per-module cache (default: none)."},
                "buildTask": BUILD_TASK_FIELD,
                "java": _string("JDK version of the GitHub Actions pre-build (default 17).",
                                pattern=VERSION, **{"x-hint": "a version such as 17 or 21"}),
                "node": _string("Node.js version of the GitHub Actions pre-build (default 22).",
                                pattern=VERSION, **{"x-hint": "a version such as 22"}),
                "runsOn": {
                    "type": "array",
                    "minItems": 1,
                    "x-hint": "a list of labels, such as [self-hosted, linux]",
                    "description": "GitHub Actions: the labels of the runners every job runs "
                                   "on (default: [ubuntu-latest], GitHub's hosted runners), "
                                   "such as [self-hosted, linux] for runners of your own, "
                                   "which must run Linux with Docker: the plan and deploy "
                                   "jobs run in the shipspec image as job containers.",
                    "items": _string("A runner label.", pattern=RUNNER_LABEL,
                                     **{"x-hint": "a label such as self-hosted, linux or "
                                                  "ubuntu-24.04"}),
                },
                "storageClass": _string(
                    "StorageClass of the claims (default: the cluster's).",
                    pattern=DNS_SUBDOMAIN,
                    **{"x-hint": "a StorageClass name: lower-case letters, digits, '-', '.'"}),
                "workspaceSize": _string(
                    "Size of each workspace claim.",
                    pattern=QUANTITY,
                    **{"x-hint": "write a Kubernetes quantity such as 5Gi"},
                ),
                "cacheSize": _string(
                    "Size of each cache claim.",
                    pattern=QUANTITY,
                    **{"x-hint": "write a Kubernetes quantity such as 10Gi"},
                ),
                "resources": _compute_resources(
                    "Tekton: the CPU, memory and ephemeral storage each run's build (fetch, "
                    "pre-build, image build) requests and is limited to, for builds larger "
                    "than the namespace's defaults (its LimitRange's), scheduled where they "
                    "fit (default: none, the namespace's)."),
                "images": _object(
                    "Container images of the generated CI, each pinned by digest.",
                    {
                        name: _string(
                            f"The {name} image, as name:tag@sha256:<digest>.",
                            pattern=PINNED_IMAGE,
                            **{"x-hint": "pin it: add @sha256:<digest> (crane digest IMAGE)"},
                        )
                        for name in IMAGE_NAMES
                    },
                ),
                "notifySecret": _string(
                    "Tekton: a Secret with a chat webhook URL (key `url`) told of every "
                    "finished run (on GitHub Actions, GitHub's own notifications).",
                    pattern=DNS_LABEL,
                ),
                "pullSecret": _string(
                    "Tekton: a kubernetes.io/dockerconfigjson Secret every run's pods pull "
                    "their images with, for images in a private registry or package (such "
                    "as your shipspec image on ghcr.io, private until made public).",
                    pattern=DNS_LABEL,
                ),
                "caBundle": _object(
                    "Tekton: the certificate authorities every run trusts, for a GitHub "
                    "Enterprise Server, registry or deployment repository whose certificate a "
                    "private CA signed: a ConfigMap of PEM certificates in the CI namespace. "
                    "It replaces the images' own list, so it must hold the public CAs too "
                    "(as trust-manager's Bundle with useDefaultCAs writes it).",
                    {"configMap": _string("Name of the ConfigMap.", pattern=DNS_LABEL,
                                          examples=["corporate-ca"]),
                     "key": _string("Its key that holds the certificates (default: ca.crt).",
                                    pattern=CONFIG_KEY,
                                    **{"x-hint": "letters, digits, '-', '_' and '.'"})},
                    required=("configMap",),
                    examples=[{"configMap": "corporate-ca", "key": "ca.crt"}],
                ),
                "timeoutMinutes": {
                    "type": "integer",
                    "minimum": 10,
                    "maximum": 1440,
                    "description": "Minutes a build may run before it is stopped: on Tekton "
                                   "its run's timeout and its TaskRuns' (timeouts; a run that "
                                   "reports keeps 5 of them for the report), on GitHub "
                                   "Actions each build job's timeout-minutes (GitHub-hosted "
                                   "runners stop a job at 360 whatever it says). Default: the "
                                   "cluster's (Tekton's default-timeout-minutes, 60 unless "
                                   "changed), GitHub's 360.",
                },
                "keepRuns": {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": 1000,
                    "description": "Finished PipelineRuns kept per module by the cleanup "
                                   "(default 5), and as many of its own runs; running ones "
                                   "are never deleted.",
                },
            },
        ),
        "argocd": _object(
            "How the Argo CD plugin treats this spec.",
            {"allowEmpty": {
                "type": "boolean",
                "description": "Render nothing without failing when no module is enabled. "
                               "Argo CD then prunes every object of the application "
                               "(default: false, an empty render fails).",
            }},
        ),
        "environments": {
            "type": "object",
            "description": "Deployment environments, each fed by one branch.",
            "propertyNames": {"pattern": DNS_LABEL, "x-hint": NAME_HINT},
            "additionalProperties": _object(
                "One environment.",
                {
                    "branch": _branch("Pushes to this branch deploy to this environment."),
                    "tag": _string(f"Image tag; {_TEMPLATE_NOTE}; it must name the commit "
                                   "({{ sha8 }} or {{ sha }}), and should name the "
                                   "environment: `validate` warns of two environments that "
                                   "give a commit one tag.", maxLength=1000),
                    "values": _path("The values file in the deployment repository."),
                    "deployBranch": _branch("Branch of the deployment repository to commit to."),
                    "delivery": _object(
                        "How bump delivers a change to the deployment branch: pushed to it "
                        "(default), or as a pull request for branches that are protected.",
                        {
                            "method": {"enum": ["push", "pull-request"],
                                       "examples": ["pull-request"],
                                       "description": "push (default) or pull-request: "
                                                      "bump opens or updates a pull request "
                                                      "through the forge's API (deploy.forge)."},
                            "autoMerge": {"enum": ["merge", "squash", "rebase"],
                                          "description": "Ask the forge to merge the pull "
                                                         "request this way once its required "
                                                         "checks pass (default: a person "
                                                         "merges it)."},
                        },
                        required=("method",),
                    ),
                    "app": _APP,
                },
                required=("branch",),
            ),
        },
        "modules": {
            "type": "object",
            "description": "The services, by name.",
            "examples": [{"core": {"dockerfile": "core/Dockerfile"}}],
            "minProperties": 1,
            "propertyNames": {"pattern": DNS_LABEL, "x-hint": NAME_HINT},
            "additionalProperties": _MODULE,
        },
    },
}
