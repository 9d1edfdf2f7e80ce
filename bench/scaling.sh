# bench/run --scaling (sourced by bench/run, which provides the helpers):
# throughput, memory and disk as the store grows, with one and two
# workers. For each size in SIZES: a fresh store (idctl populate), its
# bytes on disk and per identifier; idnode with one worker on SCPU and the
# generator on GCPU, then two workers with server and generator sharing
# every CPU (on a 2-core machine the second worker competes with the
# generator: the method for more cores is the same with the generator on
# cores of its own); UDP resolutions/s (median of REPEAT runs over all the
# identifiers, random), the daemon's resident memory and how much of the
# store file is in the page cache (fincore). The store is deleted after
# each size. Written to bench/results/scaling.md and into the "Scaling"
# section of bench/RESULTS.md.

SOUT=${OUT_GIVEN:-bench/results/scaling.md}
srows=()
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
t_start=$SECONDS
for n in $SIZES; do
	case $n in '' | *[!0-9]*) fail "--sizes wants numbers" ;; esac
	need=$((n * 700 / 1024)) # KiB, with room
	free=$(df -Pk "$tmp" | awk 'NR == 2 { print $4 }')
	if [ "$free" -lt "$need" ]; then
		echo "== $n identifiers: skipped, $((free / 1048576)) GiB free on $tmp"
		srows+=("| $n | skipped: $((free / 1048576)) GiB free, about $((need / 1048576)) GiB needed | | | | | | | | | | | |")
		continue
	fi
	echo "== populate $n identifiers"
	d=$tmp/s$n
	pop=("$IDCTL" populate --data "$d" --prefix "$PREFIX" --count "$n" --json)
	record "${pop[@]}"
	t0=$(now_s)
	"${pop[@]}" >"$tmp/populate.json" || fail "populate failed"
	t1=$(now_s)
	pop_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
	sbytes=$(jget "$tmp/populate.json" store_bytes)
	disk=$(du -B1 -s "$d" | cut -f1)
	for w in 1 2; do
		if [ "$w" = 1 ]; then scpu=$SCPU gcpu=$GCPU; else scpu=- gcpu=-; fi
		name=s${n}w$w
		start_idnode "$d" "$name" "$w" "$scpu"
		v=pid_$name
		spid=${!v}
		v=port_$name
		sport=${!v}
		socks=()
		[ "$w" = 1 ] || socks=(--sockets 8)
		GCPU_SAVED=$GCPU
		GCPU=$gcpu
		DUR=$(awk -v d="$DURATION" 'BEGIN { print (d < 3) ? d : 3 }') \
			bench_cmd "$sport" --count "$n" --inflight "$INFLIGHT" ${socks[@]+"${socks[@]}"}
		pin_to "$gcpu"
		${PFX[@]+"${PFX[@]}"} "${cmd[@]}" >/dev/null 2>&1 || true # warm-up: pages into memory
		bench_cmd "$sport" --count "$n" --inflight "$INFLIGHT" ${socks[@]+"${socks[@]}"}
		pin_to "$gcpu"
		record ${PFX[@]+"${PFX[@]}"} "${cmd[@]}"
		for r in $(seq "$REPEAT"); do
			measure "scale-$n-w$w" bench "$spid"
		done
		GCPU=$GCPU_SAVED
		rss=$(tree_rss_kib "$spid")
		cached=$(fincore -b -n -o RES "$d/data.mdb" 2>/dev/null | awk '{ print $1 + 0 }')
		eval "rss_w$w=\$rss cached_w$w=\${cached:-0}"
		bench_stop "$spid"
	done
	rm -rf "$d"
	srows+=("$(awk -v n="$n" -v sb="$sbytes" -v disk="$disk" -v ps="$pop_s" \
		-v r1="$(med "scale-$n-w1" 2)" -v q1="$(med "scale-$n-w1" 4)" \
		-v r2="$(med "scale-$n-w2" 2)" -v q2="$(med "scale-$n-w2" 4)" \
		-v c1="$(med "scale-$n-w1" 6)" -v c2="$(med "scale-$n-w2" 6)" \
		-v rss="$rss_w1" -v pc="$cached_w1" 'BEGIN {
		printf "| %d | %.1f | %.0f | %.0f | %.1f | %.0f | %.0f | %.0f | %.1f | %.2f | %.0f | %.1f | %.2f |\n",
			n, ps, sb / n, disk / n, rss / 1024, rss * 1024 / n, pc / 1048576,
			r1, q1, c1, r2, q2, c2 }')")
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
{
	echo "## Scaling (bench/run --scaling)"
	echo
	echo "\`bench/run --scaling --sizes \"$SIZES\" --duration $DURATION --repeat $REPEAT\` on"
	echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $((SECONDS - t_start)) s; $(machine_line);"
	echo "load average before / after: $load_before / $load_after."
	echo
	echo "Random UDP resolutions over all the identifiers, $INFLIGHT in flight, medians"
	echo "of $REPEAT runs after a warm-up run. *1 worker*: idnode on CPU $SCPU, generator"
	echo "on CPU $GCPU. *2 workers*: idnode \`--workers 2\` and the generator (8 sockets,"
	echo "so that SO_REUSEPORT spreads the flows) unpinned, sharing both CPUs: on this"
	echo "machine the second worker takes CPU from the generator, so this row shows the"
	echo "cost of sharing rather than the gain of a core. RSS is idnode's resident set"
	echo "after the 1-worker runs (the LMDB map pages it touched are counted in it and"
	echo "are the page cache: nothing is copied)."
	echo
	echo "| identifiers | populate s | store bytes/id (LMDB in use) | disk bytes/id | idnode RSS MiB | RSS bytes/id | store in page cache MiB | 1 worker res/s | p99 µs | CPU µs/req | 2 workers res/s | p99 µs | CPU µs/req |"
	echo "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
	printf '%s\n' "${srows[@]}"
	echo
	echo "Commands (\$T is the temporary directory):"
	echo
	echo '```'
	printf '%s\n' "${commands[@]}"
	echo '```'
} >"$SOUT"
cat "$SOUT"
# into RESULTS.md: everything from "## Scaling" on is replaced
if [ "$SOUT" = bench/results/scaling.md ] && [ -f bench/RESULTS.md ]; then
	awk '/^## Scaling/ { exit } { print }' bench/RESULTS.md >"$tmp/r.md"
	cat "$tmp/r.md" "$SOUT" >bench/RESULTS.md
fi
[ "$bad" = 0 ] || fail "some runs failed or got wrong answers"
