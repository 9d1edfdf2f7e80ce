#!/usr/bin/env bash
# Installs the Debian packages idnode needs to build and run; with --test
# also those the test suite and benchmarks use (a PostgreSQL server, a
# headless browser, nginx and wrk as references, clang for fuzzing, the
# OpenAPI 3.0 schema and a JSON Schema validator for docs/openapi.yaml
# (tests/e2e/test_openapi.c), and
# what tests/install.sh needs to build, check and install the .deb:
# debhelper, groff and man, systemd-analyze and systemd-sysusers), and the
# one npm package the console's browser test drives Chromium with
# (tests/console/package-lock.json).
# Idempotent: does nothing when everything is present.
set -eu
pkgs=(build-essential pkg-config
      liblmdb-dev libxxhash-dev lmdb-utils libssl-dev libjansson-dev libpq-dev
      libh2o-evloop-dev zlib1g-dev xxd procps)
if [ "${1:-}" = --test ]; then
	pkgs+=(libcmocka-dev clang libclang-rt-14-dev clang-format cppcheck postgresql curl
	       chromium fonts-wqy-zenhei wrk nginx-light nsd knot dnsperf
	       debhelper dpkg-dev fakeroot groff-base man-db systemd iproute2
	       prometheus python3-yaml python3-jsonschema openapi-specification)
	command -v node >/dev/null && command -v npm >/dev/null || pkgs+=(nodejs npm)
fi
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing+=("$p")
done
if [ "${#missing[@]}" -ne 0 ]; then
	SUDO=
	[ "$(id -u)" -ne 0 ] && SUDO=sudo
	echo "installing: ${missing[*]}"
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
if [ "${1:-}" = --test ]; then
	console=$(cd "$(dirname "$0")/../tests/console" && pwd)
	if [ ! -d "$console/node_modules/playwright-core" ]; then
		echo "installing the console test's npm package (tests/console)"
		(cd "$console" && npm ci --no-audit --no-fund --loglevel=error)
	fi
fi
