#!/usr/bin/env bash
# Installs every Debian package idnode needs to build, run and test.
# Idempotent: does nothing when everything is present.
set -eu
pkgs=(build-essential pkg-config clang libclang-rt-14-dev
      liblmdb-dev lmdb-utils libssl-dev libjansson-dev libcmocka-dev
      libpq-dev postgresql xxd procps
      libh2o-evloop-dev zlib1g-dev curl chromium wrk nginx-light)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing+=("$p")
done
[ "${#missing[@]}" -eq 0 ] && exit 0
SUDO=
[ "$(id -u)" -ne 0 ] && SUDO=sudo
echo "installing: ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
