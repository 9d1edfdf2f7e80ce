#!/usr/bin/env bash
# The service install, as an operator gets it: `make install` into a
# staging directory (binaries, unit, sysusers file, man pages, example
# configuration, console; PREFIX=/usr and the default), `make uninstall`,
# the unit through systemd-analyze, the man pages clean under groff and listing
# every option and command, the installed idnode started from there with
# the example configuration on temporary paths (a resolution and the
# console), then the Debian package built from a copy of the tree, its
# contents, and — as root — installed and removed again.
# Prints one closing line "N passed, N failed"; exits non-zero on failure.
set -u
cd "$(dirname "$0")/.." || exit 1
repo=$PWD
passed=0
failed=0
start=$(date +%s)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/idnode-install.XXXXXX")
log=$tmp/log
node=
cleanup() {
	# only the test's own shell: a forked child about to run idnode
	# inherits this trap
	[ "$BASHPID" = $$ ] || return 0
	[ -n "$node" ] && kill "$node" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

ok() {
	passed=$((passed + 1))
	printf '  ok    %s\n' "$1"
}
bad() {
	failed=$((failed + 1))
	printf '  FAIL  %s\n' "$1"
	[ -s "$log" ] && tail -20 "$log" | sed 's/^/        /'
}
# check DESCRIPTION COMMAND...: passes when COMMAND succeeds
check() {
	local what=$1
	shift
	: >"$log"
	if "$@" >>"$log" 2>&1; then ok "$what"; else bad "$what"; fi
}
# A port no socket uses, below the kernel's ephemeral range (so no
# outgoing connection takes it meanwhile).
free_port() {
	local p
	while :; do
		p=$((10000 + RANDOM % 22000))
		[ -z "$(ss -Htuan "sport = :$p" 2>/dev/null)" ] && break
	done
	echo "$p"
}
# start_node LOG IDNODE ARG...: starts IDNODE in the background (pid in
# $node) and waits until it is ready; false if it is not within 20 s.
start_node() {
	local out=$1
	shift
	rm -f "$out"
	"$@" >"$out" 2>&1 &
	node=$!
	for _ in $(seq 200); do
		grep -q "idnode ready" "$out" 2>/dev/null && return 0
		kill -0 "$node" 2>/dev/null || break
		sleep 0.1
	done
	return 1
}
# stop_node: SIGTERM to $node; its exit status
stop_node() {
	kill -TERM "$node" 2>/dev/null
	wait "$node"
}

# console_from IDNODE DIR [OPTION]...: IDNODE started with HTTP and
# OPTIONs takes its console from DIR (its log says which). Retried on
# other ports if someone took one meanwhile.
console_from() {
	local bin=$1 want=$2 n=$tmp/console.log
	shift 2
	for _ in 1 2 3; do
		start_node "$n" "$bin" -d "$tmp/data2" -C "$tmp/ctl2.sock" \
			-l "127.0.0.1:$(free_port)" --http "127.0.0.1:$(free_port)" "$@" &&
			break
		stop_node
	done
	stop_node
	cat "$n"
	grep -q "console $want," "$n"
}

echo "== make install DESTDIR=... PREFIX=/usr"
root=$tmp/root
check "make install" make -s install DESTDIR="$root" PREFIX=/usr
for f in usr/bin/idctl usr/sbin/idnode lib/systemd/system/idnode.service \
	usr/lib/sysusers.d/idnode.conf usr/share/man/man1/idctl.1 \
	usr/share/man/man5/idnode.conf.5 usr/share/man/man8/idnode.8 \
	etc/idnode/idnode.conf.example etc/idnode/idnode.conf \
	usr/share/idnode/web/index.html usr/share/idnode/web/app.js \
	usr/share/doc/idnode/operations.md; do
	check "installed $f" test -s "$root/$f"
done
unit=$root/lib/systemd/system/idnode.service
check "unit runs /usr/sbin/idnode -c /etc/idnode/idnode.conf" \
	grep -qx 'ExecStart=/usr/sbin/idnode -c /etc/idnode/idnode.conf' "$unit"
v=$(sed -n 's/^#define IDN_VERSION "\(.*\)"/\1/p' src/lib/version.h)
check "idnode --version is $v" \
	test "$("$root/usr/sbin/idnode" --version)" = "idnode $v"
check "idctl --version is $v" \
	test "$("$root/usr/bin/idctl" --version)" = "idctl $v"
if command -v systemd-analyze >/dev/null; then
	# the unit pointed at the staged binary and man pages
	sed "s|/usr/sbin/idnode|$root/usr/sbin/idnode|" "$unit" >"$tmp/idnode.service"
	check "systemd-analyze verify" env MANPATH="$root/usr/share/man" \
		sh -c "systemd-analyze verify '$tmp/idnode.service' 2>&1 | tee /dev/stderr | (! grep -q .)"
else
	echo "  skip  systemd-analyze verify (systemd not installed)"
fi

# the default PREFIX: configuration and unit under /usr/local, the unit
# pointing there
check "make install with the default PREFIX puts everything under /usr/local" sh -c \
	"make -s install DESTDIR='$tmp/root2' &&
	 test -s '$tmp/root2/usr/local/etc/idnode/idnode.conf.example' &&
	 test -x '$tmp/root2/usr/local/sbin/idnode' &&
	 test -s '$tmp/root2/usr/local/share/idnode/web/index.html' &&
	 grep -x 'ExecStart=/usr/local/sbin/idnode -c /usr/local/etc/idnode/idnode.conf' \
	   '$tmp/root2/usr/local/lib/systemd/system/idnode.service' &&
	 test -z \"\$(ls '$tmp/root2' | grep -vx usr)\""

echo "== man pages"
for m in man1/idctl.1 man5/idnode.conf.5 man8/idnode.8; do
	check "groff -ww $m: no warnings" sh -c \
		"groff -man -Tutf8 -ww -z '$root/usr/share/man/$m' 2>&1 | tee /dev/stderr | (! grep -q .)"
done
# Every option of idnode's usage in idnode(8) and every setting in
# idnode.conf(5); every idctl command in idctl(1).
missing=
for o in $("$root/usr/sbin/idnode" --help | sed -n 's/^ *\(-., \)\{0,1\}--\([a-z0-9-]*\).*/\2/p'); do
	e=${o//-/\\\\-}
	grep -q "\\\\fB\\\\-\\\\-$e\\\\fR" "$root/usr/share/man/man8/idnode.8" ||
		missing+=" idnode.8:--$o"
	case $o in config | help | version) continue ;; esac
	grep -q "^\\\\fB$e\\\\fR" "$root/usr/share/man/man5/idnode.conf.5" ||
		missing+=" idnode.conf.5:$o"
done
nopt=$("$root/usr/sbin/idnode" --help | grep -c '^ *\(-., \)\{0,1\}--[a-z]')
for c in $("$root/usr/bin/idctl" --help | sed -n '/^commands:/,/^$/s/^  \([a-z-]\+\).*/\1/p'); do
	e=${c//-/\\\\-}
	grep -q "^\\\\fB$e\\\\fR" "$root/usr/share/man/man1/idctl.1" ||
		missing+=" idctl.1:$c"
done
check "man pages list all $nopt idnode options and every idctl command${missing:+ (missing:$missing)}" \
	test -z "$missing" -a "$nopt" -gt 40

echo "== the installed idnode, with the example configuration"
conf=$tmp/idnode.conf
for _ in 1 2 3; do
	port=$(free_port)
	hport=$(free_port)
	sed -e "s|^data .*|data $tmp/data|" \
		-e "s|^control .*|control $tmp/ctl.sock|" \
		-e '/^listen /d' -e '/^#http /d' \
		"$root/etc/idnode/idnode.conf.example" >"$conf"
	printf 'listen 127.0.0.1:%s\nhttp 127.0.0.1:%s\n' "$port" "$hport" >>"$conf"
	start_node "$tmp/node.log" "$root/usr/sbin/idnode" -c "$conf" && break
	stop_node # a port taken meanwhile: others
done
check "idnode starts from the staged install" \
	sh -c "cat '$tmp/node.log'; grep -q 'idnode ready' '$tmp/node.log'"
idctl=$root/usr/bin/idctl
check "home and create over the control socket" sh -c \
	"'$idctl' -C '$tmp/ctl.sock' home 20.500.77 &&
	 '$idctl' -C '$tmp/ctl.sock' create 20.500.77/inst 1:URL=https://example.com/inst"
check "resolves over UDP" sh -c \
	"'$idctl' -s 127.0.0.1:$port resolve 20.500.77/inst | tee /dev/stderr | grep -q 'https://example.com/inst'"
check "console found under share/idnode/web" \
	grep -q "console $root/usr/sbin/../share/idnode/web," "$tmp/node.log"
curl -sf "http://127.0.0.1:$hport/console/" -o "$tmp/index.html" 2>"$log"
check "serves the console's index.html" cmp "$tmp/index.html" web/index.html
stop_node
rc=$?
check "stops on SIGTERM with status 0" test "$rc" -eq 0
# --http-root overrides where the console is found
mkdir "$tmp/myweb"
check "--http-root overrides the console's home" \
	console_from "$root/usr/sbin/idnode" "$tmp/myweb" --http-root "$tmp/myweb"

check "make uninstall leaves only the configuration" sh -c \
	"make -s uninstall DESTDIR='$root' PREFIX=/usr &&
	 cd '$root' && find . -type f | sort | tee /dev/stderr |
	 diff - /dev/fd/3" 3<<'END'
./etc/idnode/idnode.conf
END

echo "== Debian package"
if ! command -v dpkg-buildpackage >/dev/null || ! command -v dh >/dev/null; then
	bad "dpkg-buildpackage and debhelper installed (scripts/deps.sh --test)"
else
	# a copy of the tree, so no build products land in it
	mkdir "$tmp/src"
	tar -C "$repo" --exclude=./build --exclude=./.git -cf - . | tar -C "$tmp/src" -xf -
	t0=$(date +%s)
	(cd "$tmp/src" && DEB_BUILD_OPTIONS="parallel=$(nproc) nocheck" \
		dpkg-buildpackage -us -uc -b) >"$log" 2>&1
	rc=$?
	deb=$(find "$tmp" -maxdepth 1 -name "idnode_${v}_*.deb" | head -1)
	check "dpkg-buildpackage -us -uc -b builds idnode_${v} ($(($(date +%s) - t0)) s)" \
		test "$rc" -eq 0 -a -n "$deb"
	if [ -n "$deb" ]; then
		echo "  .deb: $(basename "$deb"), $(stat -c %s "$deb") bytes"
		dpkg-deb -c "$deb" | awk '{print $6}' >"$tmp/contents"
		for f in ./lib/systemd/system/idnode.service ./usr/sbin/idnode \
			./usr/bin/idctl ./usr/lib/sysusers.d/idnode.conf \
			./usr/share/man/man8/idnode.8.gz ./usr/share/man/man5/idnode.conf.5.gz \
			./usr/share/man/man1/idctl.1.gz ./etc/idnode/idnode.conf \
			./usr/share/idnode/web/index.html; do
			check "the .deb holds $f" grep -qx "$f" "$tmp/contents"
		done
		check "the .deb depends on its libraries and on systemd-sysusers" sh -c \
			"dpkg-deb -f '$deb' Depends | tee /dev/stderr | grep 'libh2o' | grep -q 'sysusers'"
		if [ "$(id -u)" -ne 0 ]; then
			echo "  skip  dpkg -i (not root)"
		elif dpkg-query -W -f='${Status}' idnode 2>/dev/null | grep -q installed; then
			echo "  skip  dpkg -i (an idnode package is already installed)"
		else
			check "dpkg -i installs it" dpkg -i "$deb"
			check "it created the idnode user" getent passwd idnode
			check "installed idnode runs" sh -c "/usr/sbin/idnode --version | grep -qx 'idnode $v'"
			check "man finds idnode(8)" sh -c "man -w 8 idnode | grep -q /usr/share/man/man8/idnode.8.gz"
			# moved away from its tree, idnode still finds the console
			# where the package put it (compiled in from PREFIX)
			mkdir -p "$tmp/moved" && cp /usr/sbin/idnode "$tmp/moved/"
			check "the console's home is compiled in" \
				console_from "$tmp/moved/idnode" /usr/share/idnode/web
			check "dpkg -r removes it" sh -c "dpkg -r idnode && ! test -e /usr/sbin/idnode"
			check "dpkg -P purges its configuration" sh -c "dpkg -P idnode && ! test -e /etc/idnode/idnode.conf"
		fi
	fi
fi
echo "install test: $(($(date +%s) - start)) s"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
