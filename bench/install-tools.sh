#!/usr/bin/env bash
# Installs the baseline tools the bench compares against. Idempotent and quick when everything is
# already there; never fails the caller: it says what it could not install and the bench skips it.
set -u

# binary -> Debian package
declare -A pkg_of=(
  [haproxy]=haproxy
  [socat]=socat
  [iperf3]=iperf3
  [redis-server]=redis-server
  [redis-benchmark]=redis-tools
)

missing=()
for bin in "${!pkg_of[@]}"; do
  command -v "$bin" >/dev/null 2>&1 || missing+=("${pkg_of[$bin]}")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-tools: all present (haproxy socat iperf3 redis-server redis-benchmark)"
  exit 0
fi
# De-duplicate (redis-server pulls redis-tools anyway).
mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then sudo="sudo -n"; else
    echo "install-tools: not root and no sudo; could not install: ${missing[*]}"
    exit 0
  fi
fi

export DEBIAN_FRONTEND=noninteractive
echo "install-tools: installing ${missing[*]}"
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1 || {
  $sudo apt-get update -qq >/dev/null 2>&1
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1
}

# Package installs start system services on Debian; the bench starts its own instances on
# loopback and wants no stray daemon holding the default ports or the CPUs.
for svc in haproxy redis-server; do
  if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet "$svc" 2>/dev/null; then
    $sudo systemctl stop "$svc" >/dev/null 2>&1 || true
  elif command -v service >/dev/null 2>&1; then
    $sudo service "$svc" stop >/dev/null 2>&1 || true
  fi
done

still=()
for bin in "${!pkg_of[@]}"; do
  command -v "$bin" >/dev/null 2>&1 || still+=("$bin")
done
if [ ${#still[@]} -eq 0 ]; then
  echo "install-tools: all present now"
else
  echo "install-tools: could not install: ${still[*]} (the bench skips what needs them)"
fi
exit 0
