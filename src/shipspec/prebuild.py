"""The pre-build: what runs before the image build, the same in Tekton and GitHub Actions.

Multi-project builds keep their wrapper at the repository root (astrago-backend: Gradle,
`server-core` among the projects that settings.gradle includes), and a module's Dockerfile
often copies what the build made (`COPY build/libs/*.jar`). So the step runs from the root,
with the repository's own wrapper when it has one (the version the project pins), and builds
only the module's project: `./gradlew :server-core:<task>`, `mvn -pl <context> -am <task>`,
`npm run <task> --workspace <context>`. The module's context names its project; a module's
`buildTask` names the task (a Gradle task starting with ':' is used as the full path).

Everything arrives through the environment, never in the script's text: BUILD_TOOL,
CONTEXT, BUILD_TASK, SOURCE_ROOT (default .), and the cache directories GRADLE_USER_HOME,
MAVEN_REPOSITORY, NPM_CACHE where the CI keeps them.
"""

from __future__ import annotations

# What each tool builds when the spec names no task.
DEFAULT_TASKS = {"none": "", "gradle": "assemble", "maven": "package", "npm": "build"}
# The tools that run on a JDK (GitHub Actions sets up ci.java) and on Node.js (ci.node).
JDK_TOOLS = frozenset({"gradle", "maven"})
NODE_TOOLS = frozenset({"npm"})

SCRIPT = """\
#!/bin/sh
set -eu
cd "${SOURCE_ROOT:-.}"
case "$BUILD_TOOL" in
  none)
    echo "no pre-build step" ;;
  gradle)
    case "$BUILD_TASK" in
      :*) task=$BUILD_TASK ;;
      *) if [ "$CONTEXT" = "." ]; then task=":$BUILD_TASK"
         else task=":$(printf '%s' "$CONTEXT" | tr '/' ':'):$BUILD_TASK"; fi ;;
    esac
    if [ -x ./gradlew ]; then gradle=./gradlew; else gradle=gradle; fi
    echo "pre-build: $gradle $task"
    "$gradle" --no-daemon "$task" ;;
  maven)
    if [ -x ./mvnw ]; then maven=./mvnw; else maven=mvn; fi
    set -- -B -DskipTests
    if [ -n "${MAVEN_REPOSITORY:-}" ]; then set -- "$@" "-Dmaven.repo.local=$MAVEN_REPOSITORY"; fi
    if [ "$CONTEXT" != "." ]; then set -- "$@" -pl "$CONTEXT" -am; fi
    echo "pre-build: $maven $* $BUILD_TASK"
    "$maven" "$@" "$BUILD_TASK" ;;
  npm)
    if [ -n "${NPM_CACHE:-}" ]; then npm ci --cache "$NPM_CACHE"; else npm ci; fi
    if [ "$CONTEXT" = "." ]; then
      npm run "$BUILD_TASK" --if-present
    else
      npm run "$BUILD_TASK" --if-present --workspace "$CONTEXT"
    fi ;;
  *)
    echo "unknown build tool: $BUILD_TOOL" >&2; exit 1 ;;
esac
"""
