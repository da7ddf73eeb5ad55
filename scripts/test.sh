#!/usr/bin/env bash
# Run every vecsearch test. This is THE test command: the README and CI (.ci/run) both run it.
#
#   bash scripts/test.sh          # as root, or as a user with sudo, on Debian 12
#
# Stages: deps -> build (warnings are errors) -> install -> unit tests -> throwaway cluster ->
# pg_regress (make installcheck) -> pgvector's Node.js client (test/client) -> fuzz corpus
# replay -> TAP tests (test/t/*.pl, if any) ->
# benchmark smoke test (scripts/bench.sh --quick: recall floors, never timings).
# Ends with one line "N passed, N failed" (test cases summed over the stages; a stage that
# cannot run, e.g. a failed build, counts as one failure) and exits non-zero on any failure.
#
# Environment:
#   VS_SKIP_DEPS=1    do not run scripts/install-deps.sh
#   VS_CLUSTER_DIR    data dir of the test cluster (default /tmp/vecsearch-test-cluster; it is
#                     created fresh and removed afterwards)
#   VS_PORT           its port on 127.0.0.1 (default 54330, so the demo's cluster on 54329
#                     is left alone)
#   VS_LOG_DIR        where stage logs go (default: a new /tmp/vecsearch-test.XXXXXX)
#   VS_LONG=1         the TAP suites' long variants (what `make check-long` sets)
#   VS_PGVECTOR_COMPAT=0  do not also install vecsearch as extension `vector` (make install-pgvector-compat)
set -uo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO" || exit 1

PGBIN=/usr/lib/postgresql/15/bin
PGXS_DIR=/usr/lib/postgresql/15/lib/pgxs
export VS_CLUSTER_DIR=${VS_CLUSTER_DIR:-/tmp/vecsearch-test-cluster}
export VS_PORT=${VS_PORT:-54330}
export VS_KEEP=0                  # the test cluster is always fresh and always removed
LOGDIR=${VS_LOG_DIR:-$(mktemp -d /tmp/vecsearch-test.XXXXXX)}
mkdir -p "$LOGDIR"
chmod 755 "$LOGDIR"
JOBS=$(nproc 2>/dev/null || echo 2)
MAKE=(make PG_CONFIG="$PGBIN/pg_config")
if [ "$(id -u)" -eq 0 ]; then SUDO=(); else SUDO=(sudo); fi

TOTAL_PASS=0
TOTAL_FAIL=0
SUMMARY=()                        # one preformatted line per stage
T0=$SECONDS

# ---------------------------------------------------------------- helpers
stage_start() {
	STAGE=$1
	STAGE_T0=$SECONDS
	echo
	echo "==================== $STAGE ===================="
}

# stage_end STATUS PASSED FAILED NOTE   (STATUS: ok | FAILED | skipped)
stage_end() {
	local status=$1 pass=$2 fail=$3 note=${4:-}
	local secs=$((SECONDS - STAGE_T0))
	TOTAL_PASS=$((TOTAL_PASS + pass))
	TOTAL_FAIL=$((TOTAL_FAIL + fail))
	local counts=""
	if [ "$status" != skipped ] && [ $((pass + fail)) -gt 0 ]; then counts="$pass passed, $fail failed"; fi
	local line
	line=$(printf '%-12s %-8s %-24s %4ss  %s' "$STAGE" "$status" "$counts" "$secs" "$note")
	SUMMARY+=("$line")
	echo "---- $STAGE: $status${counts:+ ($counts)}${note:+ - $note} [${secs}s]"
}

# run_logged LOGNAME CMD...: run CMD, output to the screen and to $LOGDIR/LOGNAME.log; returns CMD's status
run_logged() {
	local log="$LOGDIR/$1.log"
	shift
	"$@" 2>&1 | tee "$log"
	return "${PIPESTATUS[0]}"
}

cleanup() {
	# Stop the test cluster if a stage left it running (quietly: the last line must stay last).
	bash "$REPO/scripts/cluster.sh" stop >/dev/null 2>&1 || true
	[ -z "${TAP_WORK:-}" ] || rm -rf "$TAP_WORK"
}
trap cleanup EXIT
trap 'echo "test.sh: interrupted" >&2; exit 130' INT TERM

finish() {
	echo
	echo "==================== summary ===================="
	printf '%-12s %-8s %-24s %5s  %s\n' stage status tests time note
	local l
	for l in "${SUMMARY[@]}"; do echo "$l"; done
	echo "logs: $LOGDIR   total time: $((SECONDS - T0))s"
	cleanup
	trap - EXIT
	echo "$TOTAL_PASS passed, $TOTAL_FAIL failed"
	if [ "$TOTAL_FAIL" -ne 0 ]; then exit 1; fi
	exit 0
}

echo "vecsearch tests in $REPO (logs in $LOGDIR)"

# ---------------------------------------------------------------- 1. dependencies
stage_start deps
if [ "${VS_SKIP_DEPS:-0}" = 1 ]; then
	stage_end skipped 0 0 "VS_SKIP_DEPS=1"
elif run_logged deps bash "$REPO/scripts/install-deps.sh"; then
	stage_end ok 0 0
else
	stage_end FAILED 0 1 "scripts/install-deps.sh failed; nothing else can run"
	finish
fi

# ---------------------------------------------------------------- 2. build
stage_start build
BUILD_OK=0
if run_logged build "${MAKE[@]}" -j"$JOBS"; then
	nwarn=$(grep -c 'warning:' "$LOGDIR/build.log")
	if [ "$nwarn" -eq 0 ]; then
		BUILD_OK=1
		if grep -q -- ' -c -o ' "$LOGDIR/build.log"; then
			stage_end ok 0 0 "no compiler warnings"
		else
			stage_end ok 0 0 "up to date, nothing recompiled (warnings show only when files compile)"
		fi
	else
		BUILD_OK=1            # the library exists; keep testing, but the run fails
		echo "Compiler warnings (warnings fail the build):"
		grep -A3 'warning:' "$LOGDIR/build.log" | head -n 60
		stage_end FAILED 0 1 "$nwarn compiler warning(s)"
	fi
else
	echo "make failed; errors:"
	grep -E 'error|Error' "$LOGDIR/build.log" | head -n 30
	stage_end FAILED 0 1 "make failed"
fi

# ---------------------------------------------------------------- 3. install
stage_start install
INSTALL_OK=0
if [ "$BUILD_OK" -ne 1 ]; then
	stage_end skipped 0 0 "no build"
elif run_logged install "${SUDO[@]}" "${MAKE[@]}" install; then
	INSTALL_OK=1
	# also as extension `vector` (pgvector's name; TAP 014), unless pgvector itself owns it
	COMPAT=0
	if [ "${VS_PGVECTOR_COMPAT:-1}" = 1 ] &&
		run_logged install "${SUDO[@]}" "${MAKE[@]}" install-pgvector-compat; then
		COMPAT=1
	fi
	stage_end ok 0 0 "into $("$PGBIN/pg_config" --pkglibdir)$([ $COMPAT = 1 ] && echo ', also as extension vector')"
else
	stage_end FAILED 0 1 "make install failed"
fi

# ---------------------------------------------------------------- 4. C unit tests
stage_start unit
run_logged unit "${MAKE[@]}" unittest
rc=$?
upass=$(grep -c '^ok - ' "$LOGDIR/unit.log")
ufail=$(grep -c '^not ok - ' "$LOGDIR/unit.log")
suites=$(grep -E '^[A-Za-z0-9_]+: ([0-9]+ passed, [0-9]+ failed$|skipped: )' "$LOGDIR/unit.log" | paste -sd';' - | sed 's/;/; /g')
# Every unit test program ends with "<name>: N passed, N failed"; one that did not (a crash, or
# it was never built) counts as one more failure.
missing=()
for t in $("${MAKE[@]}" -s -f Makefile -f - vs-print-unit-tests <<<'vs-print-unit-tests: ; @echo $(UNIT_TESTS)' 2>/dev/null); do
	name=$(basename "$t")
	grep -qE "^$name: [0-9]+ passed, [0-9]+ failed\$" "$LOGDIR/unit.log" || missing+=("$name")
done
grep '^not ok - ' "$LOGDIR/unit.log"
if [ ${#missing[@]} -gt 0 ]; then
	stage_end FAILED "$upass" $((ufail + ${#missing[@]})) "did not finish (build error or crash): ${missing[*]}${suites:+; $suites}"
elif [ "$rc" -ne 0 ] && [ "$ufail" -eq 0 ]; then
	stage_end FAILED "$upass" 1 "make unittest exited $rc without a failing case${suites:+; $suites}"
elif [ "$ufail" -ne 0 ]; then
	stage_end FAILED "$upass" "$ufail" "$suites"
elif [ "$upass" -eq 0 ]; then
	stage_end FAILED 0 1 "no test cases ran"
else
	stage_end ok "$upass" 0 "$suites"
fi

# ---------------------------------------------------------------- 5. pg_regress
stage_start regress
if [ "$INSTALL_OK" -ne 1 ]; then
	stage_end skipped 0 0 "extension not installed"
elif ! run_logged cluster bash "$REPO/scripts/cluster.sh" start; then
	stage_end FAILED 0 1 "could not start the test cluster"
else
	run_logged regress "${MAKE[@]}" installcheck PGHOST=127.0.0.1 PGPORT="$VS_PORT" PGUSER=postgres
	rc=$?
	# PG15 lines: "test name ... ok  12 ms", "     name ... FAILED  30 ms" (parallel group),
	# "... failed (ignored)"; PG16+ lines: "ok 1  - name  12 ms", "not ok 2  - name".
	read -r rpass rfail rign < <(awk '
		/^(test +| +)[^ ]+ +\.\.\. +ok( |$)/          { p++; next }
		/^(test +| +)[^ ]+ +\.\.\. +FAILED/           { f++; next }
		/^(test +| +)[^ ]+ +\.\.\. +failed \(ignored\)/ { i++; next }
		/^ok +[0-9]+ +[-+] /                           { p++; next }
		/^not ok +[0-9]+ +[-+] .*# +SKIP/              { i++; next }
		/^not ok +[0-9]+ +[-+] /                       { f++; next }
		END { printf "%d %d %d\n", p, f, i }' "$LOGDIR/regress.log")
	note=""
	[ "$rign" -eq 0 ] || note="$rign failure(s) ignored by pg_regress; "
	if [ "$rc" -ne 0 ] || [ "$rfail" -ne 0 ]; then
		diffs=$(grep -o '"[^"]*regression\.diffs"' "$LOGDIR/regress.log" | tr -d '"' | head -n1)
		[ -n "$diffs" ] || diffs="$REPO/results/regression.diffs"
		if [ -f "$diffs" ]; then
			cp "$diffs" "$LOGDIR/regression.diffs"
			echo "---- $diffs (first 200 lines):"
			head -n 200 "$diffs"
		fi
		if [ "$rfail" -eq 0 ]; then
			stage_end FAILED "$rpass" 1 "${note}make installcheck exited $rc"
		else
			stage_end FAILED "$rpass" "$rfail" "${note}diffs: $LOGDIR/regression.diffs"
		fi
	elif [ "$rpass" -eq 0 ]; then
		stage_end FAILED 0 1 "${note}no regression test ran"
	else
		stage_end ok "$rpass" 0 "${note%; }"
	fi
fi

# ---------------------------------------------------------------- 5b. pgvector's own client
# npm `pgvector` with `pg` (test/client, versions pinned in package-lock.json) against the
# regress stage's cluster, through the compat install: CREATE EXTENSION IF NOT EXISTS vector.
stage_start client
if [ "$INSTALL_OK" -ne 1 ] || [ "${COMPAT:-0}" -ne 1 ]; then
	stage_end skipped 0 0 "vecsearch is not installed as extension vector"
elif ! bash "$REPO/scripts/cluster.sh" status >/dev/null 2>&1; then
	stage_end skipped 0 0 "no test cluster"
elif ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
	stage_end FAILED 0 1 "node and npm are needed (Debian: nodejs, npm)"
elif ! run_logged client-npm npm ci --prefix "$REPO/test/client" --no-audit --no-fund; then
	stage_end FAILED 0 1 "npm ci failed (see $LOGDIR/client-npm.log)"
else
	run_logged client env PGHOST=127.0.0.1 PGPORT="$VS_PORT" PGUSER=postgres \
		node "$REPO/test/client/pgvector_client.js"
	rc=$?
	read -r cpass cfail < <(grep -E '^pgvector_client: [0-9]+ passed, [0-9]+ failed$' "$LOGDIR/client.log" |
		tail -n1 | awk '{print $2, $4}')
	if [ -z "${cpass:-}" ]; then
		stage_end FAILED 0 1 "the client did not finish (see $LOGDIR/client.log)"
	elif [ "$rc" -ne 0 ] || [ "$cfail" -ne 0 ]; then
		stage_end FAILED "$cpass" "$(( cfail > 0 ? cfail : 1 ))" "see $LOGDIR/client.log"
	else
		stage_end ok "$cpass" 0 "npm pgvector $(node -p "require('$REPO/test/client/node_modules/pgvector/package.json').version"), pg $(node -p "require('$REPO/test/client/node_modules/pg/package.json').version"), node $(node --version)"
	fi
fi

# ---------------------------------------------------------------- 6. fuzz corpus replay
# The text and binary parsers' corpora need no server. The reloptions corpus is SQL run
# against the regress stage's cluster (still up; stopped at the end of this stage), in a
# database of its own; without that cluster it is skipped, as pg_regress was.
stage_start fuzz-replay
fpass=0
ffail=0
fnotes=()
if run_logged fuzz "${MAKE[@]}" fuzz-replay; then
	fpass=$((fpass + 1))
	inputs=$(grep -oE 'seed corpus: files: [0-9]+' "$LOGDIR/fuzz.log" | awk '{n += $4} END {print n + 0}')
	fnotes+=("text+binary corpora under ASan+UBSan ($inputs files)")
else
	ffail=$((ffail + 1))
	fnotes+=("make fuzz-replay failed (see $LOGDIR/fuzz.log)")
fi
if [ "$INSTALL_OK" -ne 1 ] || ! bash "$REPO/scripts/cluster.sh" status >/dev/null 2>&1; then
	fnotes+=("reloptions corpus skipped: no test cluster")
elif ! "$PGBIN/psql" -X -q -h 127.0.0.1 -p "$VS_PORT" -U postgres -d postgres \
		-c 'CREATE DATABASE vecsearch_fuzz' >"$LOGDIR/fuzz-reloptions.log" 2>&1; then
	ffail=$((ffail + 1))
	fnotes+=("could not create the reloptions fuzz database (see $LOGDIR/fuzz-reloptions.log)")
elif run_logged fuzz-reloptions env PGHOST=127.0.0.1 PGPORT="$VS_PORT" PGUSER=postgres \
		PGDATABASE=vecsearch_fuzz "${MAKE[@]}" fuzz-replay-reloptions; then
	fpass=$((fpass + 1))
	inputs=$(grep -oE 'seed corpus: files: [0-9]+' "$LOGDIR/fuzz-reloptions.log" | awk '{print $4}')
	fnotes+=("reloptions corpus against the test cluster (${inputs:-0} files)")
else
	ffail=$((ffail + 1))
	fnotes+=("make fuzz-replay-reloptions failed (see $LOGDIR/fuzz-reloptions.log)")
fi
bash "$REPO/scripts/cluster.sh" stop >/dev/null 2>&1
fnote=$(printf '%s; ' "${fnotes[@]}")
if [ "$ffail" -eq 0 ]; then
	stage_end ok "$fpass" 0 "${fnote%; }"
else
	stage_end FAILED "$fpass" "$ffail" "${fnote%; }"
fi

# ---------------------------------------------------------------- 7. TAP tests
stage_start tap
shopt -s nullglob
TAP_FILES=(test/t/*.pl)
shopt -u nullglob
if [ ${#TAP_FILES[@]} -eq 0 ]; then
	stage_end skipped 0 0 "no test/t/*.pl yet"
elif [ "$INSTALL_OK" -ne 1 ]; then
	stage_end FAILED 0 "${#TAP_FILES[@]}" "extension not installed; ${#TAP_FILES[@]} TAP file(s) not run"
else
	# PostgreSQL::Test::Cluster runs initdb/postgres, which refuse to run as root: as root, run
	# prove as the `postgres` user in a private copy of the tree (the checkout may be unreadable
	# to it, e.g. under /root). Each .pl file counts as one test; its assertions are in the log.
	if [ "$(id -u)" -eq 0 ]; then
		TAP_WORK=$(mktemp -d /tmp/vecsearch-tap.XXXXXX)
		tar -C "$REPO" --exclude=./.git --exclude=./results --exclude=./tmp_check -cf - . |
			tar -C "$TAP_WORK" -xf -
		chown -R postgres: "$TAP_WORK"
		TAP_DIR=$TAP_WORK
		RUNAS=(runuser -u postgres --)
	else
		TAP_DIR=$REPO
		RUNAS=()
	fi
	rm -rf "$TAP_DIR/tmp_check"
	tpass=0
	tfail=0
	failed_files=()
	for f in "${TAP_FILES[@]}"; do
		echo "---- prove $f"
		if (cd "$TAP_DIR" && "${RUNAS[@]}" env PATH="$PGBIN:$PATH" \
				PERL5LIB="$PGXS_DIR/src/test/perl" \
				PG_REGRESS="$PGXS_DIR/src/test/regress/pg_regress" \
				TESTDIR="$TAP_DIR" VS_LONG="${VS_LONG:-}" VS_REQUIRE_COMPAT="${COMPAT:-0}" \
				prove -v -I "$PGXS_DIR/src/test/perl" -I test/t "$f") \
				>"$LOGDIR/tap-$(basename "$f" .pl).log" 2>&1; then
			tpass=$((tpass + 1))
			tail -n 3 "$LOGDIR/tap-$(basename "$f" .pl).log"
		else
			tfail=$((tfail + 1))
			failed_files+=("$f")
			tail -n 40 "$LOGDIR/tap-$(basename "$f" .pl).log"
		fi
	done
	[ ! -d "$TAP_DIR/tmp_check/log" ] || cp -r "$TAP_DIR/tmp_check/log" "$LOGDIR/tap-logs"
	if [ "$tfail" -eq 0 ]; then
		stage_end ok "$tpass" 0 "test files (server logs: $LOGDIR/tap-logs)"
	else
		stage_end FAILED "$tpass" "$tfail" "failed: ${failed_files[*]} (server logs: $LOGDIR/tap-logs)"
	fi
fi

# ---------------------------------------------------------------- 8. benchmark smoke test
# The ANN benchmark on a small set with short sweeps (scripts/bench.sh --quick): it checks
# that the harness runs end to end against its own cluster and that every method's best
# recall@10 clears a floor; it never checks timings.
stage_start bench-smoke
if [ "$INSTALL_OK" -ne 1 ]; then
	stage_end skipped 0 0 "extension not installed"
else
	VS_SKIP_DEPS=1 VS_BENCH_PORT=54332 VS_BENCH_CLUSTER_DIR=/tmp/vecsearch-bench-smoke \
		run_logged bench bash "$REPO/scripts/bench.sh" --quick
	rc=$?
	grep -E '^(ok|not ok) - ' "$LOGDIR/bench.log"
	read -r bpass bfail < <(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$LOGDIR/bench.log" | tail -n1 |
		awk '{print $1, $3}')
	# the synthetic generator's own checks: determinism, shapes, not degenerate
	run_logged synthetic /usr/bin/python3 "$REPO/test/bench/test_synthetic.py"
	src=$?
	read -r spass sfail < <(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$LOGDIR/synthetic.log" | tail -n1 |
		awk '{print $1, $3}')
	if [ -z "${spass:-}" ]; then spass=0; sfail=1; elif [ "$src" -ne 0 ] && [ "$sfail" -eq 0 ]; then sfail=1; fi
	if [ -z "${bpass:-}" ]; then
		tail -n 30 "$LOGDIR/bench.log"
		stage_end FAILED "$spass" $((sfail + 1)) "benchmark did not finish (see $LOGDIR/bench.log)"
	elif [ "$rc" -ne 0 ] || [ "$bfail" -ne 0 ] || [ "$sfail" -ne 0 ]; then
		[ "$rc" -eq 0 ] || [ "$bfail" -ne 0 ] || bfail=1
		stage_end FAILED $((bpass + spass)) $((bfail + sfail)) "see $LOGDIR/bench.log and synthetic.log"
	else
		stage_end ok $((bpass + spass)) 0 "recall floors on SIFT10K (100 queries); synthetic generator checks"
	fi
fi

finish
