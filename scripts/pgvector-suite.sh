#!/usr/bin/env bash
# Runs pgvector's own test suites against vecsearch installed under pgvector's name (`make
# install-pgvector-compat`): its SQL regression tests (test/sql, pg_regress on a temporary
# instance) and its TAP tests (test/t, prove), from a pgvector source tree outside this
# repository. Not part of `scripts/test.sh`: it needs pgvector's source, which the tests do
# not. Their expected outputs are pgvector's wording, so differences are expected; what they
# are and why is the README's "Differences from pgvector".
#
#   VS_PGVECTOR_SRC=~/src/pgvector bash scripts/pgvector-suite.sh [OUTDIR] [test/t/013_*.pl ...]
#
# VS_PGVECTOR_REF picks the tag (default v0.8.6) in a git clone; a plain tree is used as it is.
# OUTDIR (default /tmp/vecsearch-pgvector-suite) gets regression.diffs, a log per TAP test and
# summary.txt. Ends with "N passed, N failed" over the TAP files.
set -uo pipefail
src=${VS_PGVECTOR_SRC:?set VS_PGVECTOR_SRC to a pgvector git clone or source tree}
ref=${VS_PGVECTOR_REF:-v0.8.6}
out=${1:-/tmp/vecsearch-pgvector-suite}
shift $(( $# > 0 ? 1 : 0 ))
PG_CONFIG=${PG_CONFIG:-$(command -v pg_config || echo /usr/lib/postgresql/15/bin/pg_config)}
bindir=$("$PG_CONFIG" --bindir)
pgxs=$(cd "$(dirname "$("$PG_CONFIG" --pgxs)")/../.." && pwd)

if [ ! -f "$("$PG_CONFIG" --sharedir)/extension/vector.control" ] ||
	! grep -q vecsearch "$("$PG_CONFIG" --sharedir)/extension/vector.control"; then
	echo "vecsearch is not installed as extension vector: run make install-pgvector-compat" >&2
	exit 2
fi
work=$(mktemp -d /tmp/vecsearch-pgvector-suite.XXXXXX)
trap 'rm -rf "$work"' EXIT
if git -C "$src" rev-parse --git-dir >/dev/null 2>&1; then
	git -C "$src" archive --format=tar "$ref" test | tar -x -C "$work"
else
	cp -a "$src/test" "$work/"
fi
mkdir -p "$out"
# initdb refuses root: the suites run as postgres then
if [ "$(id -u)" = 0 ]; then
	chown -R postgres: "$work" "$out"
	run() { runuser -u postgres -- "$@"; }
else
	run() { "$@"; }
fi

sql_tests=$(cd "$work/test/sql" && ls *.sql | sed 's/\.sql$//' | tr '\n' ' ')
(cd "$out" && run "$pgxs/src/test/regress/pg_regress" --temp-instance="$work/tmp_regress" --bindir="$bindir" \
	--inputdir="$work/test" --outputdir="$out" --load-extension=vector $sql_tests) > "$out/regress.txt" 2>&1
echo "SQL: $(grep -c ' ok ' "$out/regress.txt") of $(echo $sql_tests | wc -w) files match pgvector's expected output word for word; diffs in $out/regression.diffs"

files=${*:-$(cd "$work" && ls test/t/*.pl)}
pass=0; fail=0
: > "$out/summary.txt"
for f in $files; do
	log="$out/$(basename "$f" .pl).log"
	if (cd "$work" && run env PATH="$bindir:$PATH" PERL5LIB="$pgxs/src/test/perl" TESTDIR="$work" \
		PG_REGRESS="$pgxs/src/test/regress/pg_regress" prove -v -I "$pgxs/src/test/perl" "$f") > "$log" 2>&1; then
		pass=$((pass + 1)); echo "PASS $f" | tee -a "$out/summary.txt"
	else
		fail=$((fail + 1)); echo "FAIL $f: $(grep -m1 -A4 'Failed test' "$log" | tr -s ' \n' ' ' | cut -c1-200)" | tee -a "$out/summary.txt"
	fi
done
echo "$pass passed, $fail failed" | tee -a "$out/summary.txt"
