#!/usr/bin/env bash
# Installs the real binaries fedstack's tests and local stack run (Debian packages), when missing.
# Idempotent: does nothing when every binary is present.
set -euo pipefail
need=()
command -v prometheus >/dev/null || need+=(prometheus)
command -v promtool >/dev/null || need+=(prometheus)
command -v prometheus-alertmanager >/dev/null || need+=(prometheus-alertmanager)
command -v amtool >/dev/null || need+=(prometheus-alertmanager)
command -v prometheus-node-exporter >/dev/null || need+=(prometheus-node-exporter)
command -v victoria-metrics >/dev/null || need+=(victoria-metrics)
command -v wrk >/dev/null || need+=(wrk)
# kubectl kustomize builds the rendered cluster bundles in test/deploy (offline, no cluster).
command -v kubectl >/dev/null || need+=(kubernetes-client)
if [ ${#need[@]} -eq 0 ]; then
  echo "setup: prometheus, promtool, alertmanager, amtool, node_exporter, victoria-metrics, wrk, kubectl present"
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "setup: installing ${need[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $(printf '%s\n' "${need[@]}" | sort -u) >/dev/null
# Debian's packages may start services where an init system runs; fedstack starts its own.
for svc in prometheus prometheus-alertmanager prometheus-node-exporter victoria-metrics; do
  $SUDO service "$svc" stop >/dev/null 2>&1 || true
done
echo "setup: done"
