#!/usr/bin/env bash
# `npm run image [-- --push]`: builds the fedstack image from Containerfile with the container
# engine this machine has (podman, docker or buildah), tagged FEDSTACK_IMAGE or, by default,
# ghcr.io/fedstack/fedstack:<package.json version> (the name the manifests use).
set -euo pipefail
cd "$(dirname "$0")/.."
version=$(node -p "require('./package.json').version")
image="${FEDSTACK_IMAGE:-ghcr.io/fedstack/fedstack:${version}}"
engine=""
for e in podman docker buildah; do
  if command -v "$e" >/dev/null 2>&1; then engine=$e; break; fi
done
if [ -z "$engine" ]; then
  echo "image: no container engine here (podman, docker or buildah); where there is one, run:" >&2
  echo "  podman build -f Containerfile -t $image ." >&2
  exit 1
fi
if [ "$engine" = buildah ]; then
  buildah bud -f Containerfile -t "$image" .
else
  "$engine" build -f Containerfile -t "$image" .
fi
echo "image: built $image"
if [ "${1:-}" = "--push" ]; then
  "$engine" push "$image"
  echo "image: pushed $image"
fi
