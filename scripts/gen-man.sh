#!/usr/bin/env bash
# Fills a man page template (man/*.in) from the programs' own usage text,
# so the pages cannot drift from the code: idnode's usage is generated
# from its schema table (src/node/config.c), idctl's from its command
# table (src/ctl/idctl.c).
#   scripts/gen-man.sh BUILD_DIR TEMPLATE > PAGE
# Placeholders, each alone on a line:
#   @OPTIONS@   idnode's options          @KEYS@     idnode.conf's keys
#   @COMMANDS@  idctl's commands          @GLOBALS@  idctl's global options
#   @CMDOPTS@   idctl's core command options
# and @VERSION@ anywhere.
set -eu
b=$1
tpl=$2
version=$("$b/idnode" --version | awk '{print $2}')

# Reads "  HEAD   description" items (the description possibly on the next
# lines, indented by 12 or more) from stdin, from the first line matching
# $1 (itself an item if indented) to a line matching $2 or one at column 0
# that is not a section heading ("name:"). Prints one line per item:
# section, head and description separated by US (\037; a tab would merge
# with an empty section when read back).
items() {
	awk -v start="$1" -v stop="${2:-}" '
	function flush() { if (head != "") print sect "\037" head "\037" desc; head = "" }
	!on { if ($0 !~ start) next; on = 1; if ($0 !~ /^  /) next }
	stop != "" && $0 ~ stop { flush(); exit }
	/^$/ { flush(); next }
	/^[^ ].*:$/ { flush(); sect = substr($0, 1, length($0) - 1); next }
	/^[^ ]/ { flush(); exit }
	/^            / { sub(/^ +/, ""); desc = desc (desc == "" ? "" : " ") $0; next }
	{
		flush()
		sub(/^ +/, "")
		i = match($0, /  +/)
		if (i) { head = substr($0, 1, i - 1); desc = substr($0, i + RLENGTH) }
		else { head = $0; desc = "" }
	}
	END { flush() }'
}

# roff-escapes text: backslashes, minus signs, a leading control character
esc() {
	sed -e 's/\\/\\e/g' -e 's/-/\\-/g' -e "s/^[.']/\\\\\\&&/"
}

# .TP items from "section US head US desc", a section change as an .SS
# heading. $1 says how a head is set: "opt" flags in bold and their
# arguments in italics; "key" the first word in bold, the rest in italics;
# "cmd" the first word in bold, the rest as written (no headings).
roff_items() {
	local kind=$1 last=__none__ sect head desc w e out first
	while IFS=$'\037' read -r sect head desc; do
		if [ "$kind" != cmd ] && [ -n "$sect" ] && [ "$sect" != "$last" ]; then
			printf '.SS "%s"\n' "$(printf '%s' "$sect" | esc | sed 's/"/\\(dq/g')"
			last=$sect
		fi
		printf '.TP\n'
		out="" first=1
		for w in $head; do
			e=$(printf '%s' "$w" | esc)
			if { [ "$kind" = opt ] && [ "${w#-}" != "$w" ]; } ||
				{ [ "$kind" != opt ] && [ $first = 1 ]; }; then
				out+="\\fB$e\\fR "
			elif [ "$kind" = cmd ]; then
				out+="$e "
			else
				out+="\\fI$e\\fR "
			fi
			first=0
		done
		printf '%s\n' "${out% }"
		if [ -n "$desc" ]; then printf '%s\n' "$desc" | esc; fi
	done
}

node_help=$("$b/idnode" --help)
ctl_help=$("$b/idctl" --help)

# idnode's options; idnode.conf's keys are the same rows but the three that
# only the command line has (config.c's is_setting)
# idnode's options, the rows before the first heading under "general", the
# unheaded ones after them (--help, --version) under "command line"
opts() {
	printf '%s\n' "$node_help" | items '^  +-' | awk -F'\037' -v OFS='\037' '
		$1 != "" { seen = 1 }
		$1 == "" { $1 = seen ? "command line" : "general" }
		{ print }'
}
keys() {
	opts | awk -F'\037' -v OFS='\037' '{
		h = $2; sub(/^-., /, "", h); sub(/^--/, "", h)
		split(h, w, " "); name = w[1]; arg = w[2]
		if (name == "config" || name == "help" || name == "version") next
		if (arg == "") arg = "yes|no"
		print $1, name " " arg, $3
	}'
}

while IFS= read -r line; do
	case $line in
	@OPTIONS@) opts | roff_items opt ;;
	@KEYS@) keys | roff_items key ;;
	@COMMANDS@) printf '%s\n' "$ctl_help" | items '^commands:$' | roff_items cmd ;;
	@GLOBALS@) printf '%s\n' "$ctl_help" | items '^global options' '^options of' | roff_items opt ;;
	@CMDOPTS@) printf '%s\n' "$ctl_help" | items '^options of the core' | roff_items opt ;;
	*) printf '%s\n' "${line//@VERSION@/$version}" ;;
	esac
done <"$tpl"
