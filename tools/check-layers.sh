#!/usr/bin/env bash
# tools/check-layers.sh - the shape of the code, checked from its #include lines.
#
# Layers, lowest first (docs/architecture.md): lib/ uses nothing of ours; providers/ and store/
# use lib/ only (a backend's folder inside store/, store/sqlite/ and store/postgres/, is part of store/);
# survey/ uses lib/ and store/store.h; gateway/ uses everything below it.  A file
# may include headers of its own folder or of the folders it may use, and no two modules (a .c
# with its .h) may include each other, directly or in a ring.  OpenSSL's headers belong to
# lib/crypto.c alone (lib/crypto.h keeps its types out of every other file).  Prints each breach
# and exits 1 when there is one.
set -euo pipefail
cd "$(dirname "$0")/.."

awk '
function folder(p) { sub(/\/.*$/, "", p); return p }
function module(p) { sub(/\.[ch]$/, "", p); return p }
BEGIN {
	may["lib"] = " lib "
	may["providers"] = " lib providers "
	may["store"] = " lib store "
	may["survey"] = " lib survey store/store.h "
	may["gateway"] = " lib providers store survey gateway "
}
FNR == 1 {
	files[++nfiles] = FILENAME
	name = FILENAME; sub(/.*\//, "", name)
	if (name in where && where[name] != FILENAME) {
		print "check-layers: " FILENAME " and " where[name] " share a name: #include cannot tell them apart"
		bad = 1
	}
	where[name] = FILENAME
}
/^[ \t]*#[ \t]*include[ \t]*<openssl\// && FILENAME != "lib/crypto.c" {
	print FILENAME ":" FNR ": includes an OpenSSL header; only lib/crypto.c may (lib/crypto.h)"
	bad = 1
}
/^[ \t]*#[ \t]*include[ \t]*"/ {
	inc = $0; sub(/^[^"]*"/, "", inc); sub(/".*$/, "", inc)
	n = ++ninc[FILENAME]; incs[FILENAME, n] = inc; lines[FILENAME, n] = FNR
}
END {
	for (i = 1; i <= nfiles; i++) {
		f = files[i]; d = folder(f)
		for (k = 1; k <= ninc[f]; k++) {
			h = incs[f, k]
			if (!(h in where)) {
				print f ":" lines[f, k] ": includes \"" h "\", which is not in lib/, providers/, store/, survey/ or gateway/"
				bad = 1; continue
			}
			hp = where[h]; hd = folder(hp)
			if (index(may[d], " " hd " ") == 0 && index(may[d], " " hp " ") == 0) {
				print f ":" lines[f, k] ": includes " hp ", but " d "/ may use only" may[d]
				bad = 1
			}
			a = module(f); b = module(hp)
			if (a != b && !((a, b) in edge)) {
				edge[a, b] = 1; out[a] = out[a] " " b
			}
		}
	}
	# A ring of modules: depth-first search, reporting each ring once by its path.
	for (i = 1; i <= nfiles; i++) {
		m = module(files[i])
		if (!(m in state)) dfs(m, 0)
	}
	exit bad
}
function dfs(m, depth,    nn, list, j, t, k, ring) {
	state[m] = 1; stack[depth] = m
	nn = split(out[m], list, " ")
	for (j = 1; j <= nn; j++) {
		t = list[j]
		if ((t in state) && state[t] == 1) {
			ring = t
			for (k = depth; k >= 0 && stack[k] != t; k--) ring = stack[k] " -> " ring
			print "check-layers: modules include each other: " t " -> " ring
			bad = 1
		} else if (!(t in state)) {
			dfs(t, depth + 1)
		}
	}
	state[m] = 2
}
' $(ls lib/*.[ch] providers/*.[ch] store/*.[ch] store/sqlite/*.[ch] store/postgres/*.[ch] survey/*.[ch] gateway/*.[ch] \
	2>/dev/null)
