# Shared by the launchers: build on demand, the Java 17 flags, and the classpath of Spark's
# provided jars (resolved by Maven once and cached in target/).
# shellcheck shell=bash
root="${root:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"

JAVA17_OPENS="--add-opens=java.base/java.lang=ALL-UNNAMED --add-opens=java.base/java.lang.invoke=ALL-UNNAMED \
--add-opens=java.base/java.lang.reflect=ALL-UNNAMED --add-opens=java.base/java.io=ALL-UNNAMED \
--add-opens=java.base/java.net=ALL-UNNAMED --add-opens=java.base/java.nio=ALL-UNNAMED \
--add-opens=java.base/java.util=ALL-UNNAMED --add-opens=java.base/java.util.concurrent=ALL-UNNAMED \
--add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED --add-opens=java.base/sun.nio.ch=ALL-UNNAMED \
--add-opens=java.base/sun.nio.cs=ALL-UNNAMED --add-opens=java.base/sun.security.action=ALL-UNNAMED \
--add-opens=java.base/sun.util.calendar=ALL-UNNAMED -Djdk.reflect.useDirectMethodHandle=false"
export JAVA17_OPENS
# Every job JVM (driver, executors; the templates and manifests carry the same, checked by the tests): G1 regions
# of 16 MB, so Spark's 4 MB broadcast blocks and Kryo chunks are ordinary young objects instead of "humongous"
# ones (half a region or more; G1 picks 2-4 MB regions at 4-12 GB heaps), each of which started a concurrent
# marking cycle: TrainJob's collector threads used 8.0 s of CPU per 70 s of training with the default, 3.3 s with it.
JOB_JVM_FLAGS="-XX:G1HeapRegionSize=16m"
export JOB_JVM_FLAGS

shaded_jar() {
  echo "$root/target/spark-transfer.jar"
}

ensure_built() {
  if [[ ! -f "$(shaded_jar)" || -n "$(find "$root/src/main" "$root/pom.xml" -newer "$(shaded_jar)" -print -quit)" ]]; then
    echo "[spark-transfer] building $(shaded_jar) (mvn package -DskipTests)" >&2
    (cd "$root" && mvn -B -q package -DskipTests) >&2
  fi
}

provided_classpath() {
  local file="$root/target/provided-classpath.txt"
  # includeScope is the plugin's user property (there is no mdep.includeScope: with it Maven listed every
  # scope, tests included). Rebuilt when the pom or this script changes.
  if [[ ! -s "$file" || "$root/pom.xml" -nt "$file" || "${BASH_SOURCE[0]}" -nt "$file" ]]; then
    (cd "$root" && mvn -B -q dependency:build-classpath -DincludeScope=provided \
      -Dmdep.outputFile="$file") >&2
  fi
  cat "$file"
}
