#!/usr/bin/env bash
# lint.sh - the checks `make lint` runs (and `make test` before the tests):
#
#   1. banned functions: every .c/.h git tracks is refused if it calls one of the C library
#      functions below, which the code does not use (as curl's checksrc does).  Comments, string
#      and character literals are skipped, so "snprintf" or a word in a comment never matches.
#      Each hit is reported as FILE:LINE: name(): why, and what to use instead.
#   2. layout of changed lines: the .c/.h lines changed since a base commit (added or modified,
#      committed or not) must be laid out as .clang-format says.  Only those lines are checked,
#      through clang-format-diff, so older code that does not follow the file exactly does not
#      fail the build; nothing is rewritten.  The base is LINT_BASE when set, else the merge base
#      with main (or origin/main), else HEAD~1 (on main itself, or with no main); with no base
#      or no changed line, nothing is checked and it says so.
#
# Exit status: 0 clean, 1 a check failed, 2 a tool is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

status=0

# ---- 1. banned functions --------------------------------------------------------------------

if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	files=$(git ls-files '*.c' '*.h')
else
	files=$(find . -path ./build -prune -o -type f \( -name '*.c' -o -name '*.h' \) -print |
		sed 's|^\./||' | sort)
fi

# One awk over every file: a line's code is what is left once comments and literals are blanked
# out (a block comment may span lines; a literal may continue past a backslash-newline).
banned() {
	awk -v sq="'" '
	BEGIN {
		why["gets"] = "reads with no bound at all"
		use["gets"] = "fgets()"
		why["strcpy"] = why["strcat"] = "no bound on the destination"
		use["strcpy"] = "snprintf(), or memcpy() of a length checked first"
		use["strcat"] = "snprintf() at the end, or struct buf"
		why["strncpy"] = "leaves the destination unterminated when the source is long"
		use["strncpy"] = "snprintf()"
		why["sprintf"] = why["vsprintf"] = "no bound on the destination"
		use["sprintf"] = "snprintf()"
		use["vsprintf"] = "vsnprintf()"
		why["atoi"] = "cannot report garbage or overflow"
		why["atol"] = why["atoll"] = why["atof"] = why["atoi"]
		use["atoi"] = use["atol"] = "strtol() with an end pointer"
		use["atoll"] = "strtoll() with an end pointer"
		use["atof"] = "strtod() with an end pointer"
		why["strtok"] = "keeps hidden state between calls and writes into its input"
		use["strtok"] = "strcspn() and strspn()"
		pat = "gets|strcpy|strncpy|strcat|sprintf|vsprintf|atoi|atol|atoll|atof|strtok"
		re = "(^|[^A-Za-z0-9_.>])(" pat ")[ \t]*\\("
		bad = 0
	}
	FNR == 1 { incomment = 0; inlit = "" }
	{
		code = ""
		n = length($0)
		for (i = 1; i <= n; i++) {
			c = substr($0, i, 1)
			if (incomment) {
				if (c == "*" && substr($0, i + 1, 1) == "/") {
					incomment = 0
					i++
				}
				code = code " "
			} else if (inlit != "") {
				if (c == "\\")
					i++
				else if (c == inlit)
					inlit = ""
				code = code " "
			} else if (c == "/" && substr($0, i + 1, 1) == "*") {
				incomment = 1
				i++
				code = code "  "
			} else if (c == "/" && substr($0, i + 1, 1) == "/") {
				break
			} else if (c == "\"" || c == sq) {
				inlit = c
				code = code " "
			} else {
				code = code c
			}
		}
		# A literal ends with its line unless the line ends in a backslash.
		if (inlit != "" && substr($0, n, 1) != "\\")
			inlit = ""
		while (match(code, re)) {
			hit = substr(code, RSTART, RLENGTH)
			sub(/^[^A-Za-z_]/, "", hit)
			sub(/[ \t]*\($/, "", hit)
			printf "%s:%d: %s(): %s; use %s\n", FILENAME, FNR, hit, why[hit], use[hit]
			bad = 1
			code = substr(code, RSTART + RLENGTH)
		}
	}
	END { exit bad }
	' "$@"
}

# shellcheck disable=SC2086 # one file name per word: git ls-files names have no blanks here
if [ -n "$files" ] && ! banned $files; then
	echo "lint: banned functions found (tools/lint.sh lists them and why)"
	status=1
else
	echo "lint: banned functions: none in $(echo "$files" | grep -c .) files"
fi

# ---- 2. layout of changed lines -------------------------------------------------------------

format_diff=$(command -v clang-format-diff || command -v clang-format-diff-14 || true)
if [ -z "$format_diff" ] || ! command -v clang-format >/dev/null; then
	echo "lint: clang-format / clang-format-diff not found: run make deps" \
	     "(or: sudo apt-get install clang-format)" >&2
	exit 2
fi

base=${LINT_BASE:-}
what="LINT_BASE"
if [ -z "$base" ] && git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	head=$(git rev-parse HEAD)
	for ref in main origin/main; do
		if git rev-parse -q --verify "$ref^{commit}" >/dev/null; then
			mb=$(git merge-base HEAD "$ref" || true)
			if [ -n "$mb" ] && [ "$mb" != "$head" ]; then
				base=$(git rev-parse --short "$mb")
				what="the merge base with $ref"
			fi
			break
		fi
	done
	if [ -z "$base" ] && git rev-parse -q --verify 'HEAD~1^{commit}' >/dev/null; then
		base=HEAD~1
		what="the commit before: no main to compare with"
	fi
fi
if [ -z "$base" ]; then
	echo "lint: layout: no base commit to compare with (set LINT_BASE=); nothing checked"
	exit $status
fi

# Added and modified lines only: a hunk that only deletes lines (+N,0) is dropped, or
# clang-format-diff would hold the untouched line next to it to the layout.
diff=$(git diff -U0 -M --no-color --diff-filter=d "$base" -- '*.c' '*.h' |
	awk '/^\+\+\+ / { print; next } /^@@ / { if ($3 !~ /,0$/) print }')
if ! echo "$diff" | grep -q '^@@'; then
	echo "lint: layout: no .c/.h line changed since $base ($what); nothing checked"
	exit $status
fi
out=$(echo "$diff" | "$format_diff" -p1 -binary clang-format)
if [ -n "$out" ]; then
	# FILE:LINE for the first line of each place, then what clang-format would make of it.
	echo "$out" | awk '
		/^--- / { file = $2; next }
		/^\+\+\+ / { next }
		/^@@ / { split($2, a, ","); line = -a[1]; first = 1; next }
		/^-/ { if (first) printf "%s:%d: not laid out as .clang-format says\n", file, line
		       first = 0; line++; next }
		/^\+/ { first = 1; next }
		{ line++; first = 1 }'
	echo "$out"
	echo "lint: layout: lines changed since $base ($what) differ from .clang-format, as above;"
	echo "      fix them, or apply that to the changed lines only with:"
	echo "      git diff -U0 $base -- '*.c' '*.h' | $(basename "$format_diff") -p1 -i"
	status=1
else
	echo "lint: layout: the .c/.h lines changed since $base ($what) follow .clang-format"
fi
exit $status
