#!/usr/bin/env bash
# Installs the real binaries fedstack's tests and local stack run (Debian packages), when missing.
# `npm start` and `npm test` run it first (prestart, pretest), so `npm ci && npm start` works on a
# fresh machine. Idempotent and quick: with every binary present it only looks them up.
# Not root and no password-less sudo: it prints the one command that installs what is missing,
# and exits 1.
set -euo pipefail

# binary, then the Debian package that ships it
binaries=(
  prometheus prometheus
  promtool prometheus
  prometheus-alertmanager prometheus-alertmanager
  amtool prometheus-alertmanager
  prometheus-node-exporter prometheus-node-exporter
  victoria-metrics victoria-metrics
  wrk wrk
  kubectl kubernetes-client # kubectl kustomize builds the rendered bundles in test/deploy (offline)
  chromium chromium # the console's browser tests drive /usr/bin/chromium
  openssl openssl # certificates of fedstack up, fedstack secrets init and the tests
)

missing=()
packages=()
for ((i = 0; i < ${#binaries[@]}; i += 2)); do
  if ! command -v "${binaries[i]}" >/dev/null 2>&1; then
    missing+=("${binaries[i]}")
    packages+=("${binaries[i + 1]}")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: every binary present (prometheus, alertmanager, node_exporter, victoria-metrics, wrk, kubectl, chromium, openssl)"
  exit 0
fi
mapfile -t packages < <(printf '%s\n' "${packages[@]}" | sort -u)
install="apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ${packages[*]}"

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true >/dev/null 2>&1; then
    SUDO="sudo"
  else
    echo "setup: missing ${missing[*]}; this user cannot install them (not root, no password-less sudo). Run:" >&2
    echo "  sudo sh -c '$install'" >&2
    exit 1
  fi
fi
echo "setup: installing ${packages[*]} (for ${missing[*]})"
$SUDO sh -c "$install" >/dev/null
# Debian's packages may start services where an init system runs; fedstack starts its own.
for svc in prometheus prometheus-alertmanager prometheus-node-exporter victoria-metrics; do
  $SUDO service "$svc" stop >/dev/null 2>&1 || true
done
echo "setup: done"
