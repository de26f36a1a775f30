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

A JVM reads only its own trust store, never SSL_CERT_FILE, which the Tekton runs set to
ci.caBundle's certificates (a company's CA for its Nexus or Artifactory): a Gradle or Maven
pre-build failed there with "PKIX path building failed". When SSL_CERT_FILE is set, the
script makes a PKCS12 trust store of its certificates (with the JDK's own classes, one JVM
start: keytool imports one certificate a run) and names it in JAVA_TOOL_OPTIONS, which
every JVM of the build reads, the Gradle wrapper's and daemon's too. The bundle replaces
the JDK's list, as it replaces every other tool's (so it holds the public CAs as well). A
JDK that cannot make it (before 11, no single-file launcher) keeps its own, with a warning:
the build then fails only where it would have failed before.
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
trust_java() {
  [ -n "${SSL_CERT_FILE:-}" ] || return 0
  trust=$(mktemp -d)
  cat > "$trust/Trust.java" <<'JAVA'
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;

public class Trust {
    public static void main(String[] args) throws Exception {
        KeyStore store = KeyStore.getInstance("PKCS12");
        store.load(null, null);
        int count = 0;
        try (FileInputStream in = new FileInputStream(args[0])) {
            for (Certificate c : CertificateFactory.getInstance("X.509").generateCertificates(in)) {
                store.setCertificateEntry("ca-" + count++, c);
            }
        }
        try (FileOutputStream out = new FileOutputStream(args[1])) {
            store.store(out, args[2].toCharArray());
        }
        System.out.println(count);
    }
}
JAVA
  if ! count=$(java "$trust/Trust.java" "$SSL_CERT_FILE" "$trust/truststore.p12" shipspec \\
      2>"$trust/error"); then
    echo "pre-build: Java keeps its own trust store, without $SSL_CERT_FILE:" \\
      "$(head -n 1 "$trust/error") (the single-file launcher needs a JDK 11 or newer)" >&2
    return 0
  fi
  set -- "-Djavax.net.ssl.trustStore=$trust/truststore.p12" \\
    -Djavax.net.ssl.trustStoreType=PKCS12 -Djavax.net.ssl.trustStorePassword=shipspec
  JAVA_TOOL_OPTIONS="${JAVA_TOOL_OPTIONS:+$JAVA_TOOL_OPTIONS }$*"
  export JAVA_TOOL_OPTIONS
  echo "pre-build: Java trusts the certificates of $SSL_CERT_FILE ($count)"
}
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
    trust_java
    echo "pre-build: $gradle $task"
    "$gradle" --no-daemon "$task" ;;
  maven)
    if [ -x ./mvnw ]; then maven=./mvnw; else maven=mvn; fi
    trust_java
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
