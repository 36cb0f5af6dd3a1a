#!/usr/bin/env bash
# Resolve the pinned Apache Kafka broker (deploy/maven/kafka/pom.xml) and its runtime
# dependencies from Maven Central into a cache, once. After that everything runs offline.
# Cache: $FRAUDGUARD_KAFKA_LIB_DIR, else ~/.cache/fraudguard/kafka-<version>/lib
# (the same default as fraudguard.io.kafka_cluster.default_kafka_lib).
# Skipped (with a warning, exit 0) when java or mvn is missing and cannot be installed:
# the Apache Kafka tests then skip and Tansu stays the only broker.
set -euo pipefail
cd "$(dirname "$0")/.."
pom=deploy/maven/kafka/pom.xml
version="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$pom")"
lib="${FRAUDGUARD_KAFKA_LIB_DIR:-$HOME/.cache/fraudguard/kafka-$version/lib}"
stamp="$lib/.fraudguard-$(sha256sum "$pom" | cut -c1-16)"
[ -f "$stamp" ] && exit 0
if ! command -v java >/dev/null 2>&1 || ! command -v mvn >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "installing Debian's Java 17 and Maven for the Apache Kafka broker"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless maven >/dev/null) \
      || echo "warning: could not install java/maven" >&2
  fi
fi
if ! command -v java >/dev/null 2>&1 || ! command -v mvn >/dev/null 2>&1; then
  echo "warning: java or mvn missing: Apache Kafka $version not set up; its tests will be skipped" >&2
  exit 0
fi
echo "resolving Apache Kafka $version from Maven Central into $lib"
mkdir -p "$(dirname "$lib")"
tmp="$(mktemp -d "$lib.tmp.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
mvn -q -B -f "$pom" dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$tmp/lib" \
  >"$tmp/mvn.log" 2>&1 || { cat "$tmp/mvn.log" >&2; echo "error: mvn could not resolve $pom" >&2; exit 1; }
[ -f "$tmp/lib/kafka_2.13-$version.jar" ] || { echo "error: kafka_2.13-$version.jar was not resolved" >&2; exit 1; }
rm -rf "$lib"
mv "$tmp/lib" "$lib"
touch "$stamp"
