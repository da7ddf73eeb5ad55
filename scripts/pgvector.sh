#!/usr/bin/env bash
# Builds pgvector from a source tree outside this repository and installs it under the extension
# name `pgvector`, so that the benchmark can measure it in the same run, on the same server, with
# the same client as vecsearch (scripts/bench.sh calls this when VS_PGVECTOR_SRC is set).
#
#   VS_PGVECTOR_SRC=~/src/pgvector bash scripts/pgvector.sh     # a git clone: builds tag v0.8.6
#   VS_PGVECTOR_REF=v0.8.5 ...                                  # another tag or commit
#
# VS_PGVECTOR_SRC may also be a plain source tree (no .git): it is built as it is. The build
# happens in a temporary folder with pgvector's own default flags (-march=native), as its users
# build it. Why another name: both extensions define the type `vector`, so pgvector is measured in
# a database of its own; naming its control file `pgvector` keeps `vector` free for vecsearch.
# The library keeps its file name (vector.so): pgvector's parallel builds load it by that name.
set -euo pipefail
src=${VS_PGVECTOR_SRC:?set VS_PGVECTOR_SRC to a pgvector git clone or source tree}
ref=${VS_PGVECTOR_REF:-v0.8.6}
PG_CONFIG=${PG_CONFIG:-$(command -v pg_config || echo /usr/lib/postgresql/15/bin/pg_config)}

work=$(mktemp -d /tmp/vecsearch-pgvector.XXXXXX)
trap 'rm -rf "$work"' EXIT
if git -C "$src" rev-parse --git-dir >/dev/null 2>&1; then
	git -C "$src" archive --format=tar "$ref" | tar -x -C "$work"
	version="$ref"
else
	cp -a "$src"/. "$work"/
	version="source tree $src"
fi
make -s -C "$work" PG_CONFIG="$PG_CONFIG" -j"$(nproc)" >/dev/null
make -s -C "$work" PG_CONFIG="$PG_CONFIG" install DESTDIR="$work/stage" >/dev/null

libdir=$("$PG_CONFIG" --pkglibdir)
extdir=$("$PG_CONFIG" --sharedir)/extension
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
as_root install -m 755 "$work/stage$libdir/vector.so" "$libdir/vector.so"
sed -e "s/^comment = '\(.*\)'/comment = 'pgvector (reference build for the vecsearch benchmark): \1'/" \
	"$work/stage$extdir/vector.control" > "$work/pgvector.control"
as_root install -m 644 "$work/pgvector.control" "$extdir/pgvector.control"
for f in "$work/stage$extdir"/vector--*.sql; do
	as_root install -m 644 "$f" "$extdir/pg${f##*/}"
done
echo "pgvector ($version) installed as extension pgvector"
