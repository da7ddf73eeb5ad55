#!/bin/bash
# 1M x 128 parallel builds (leader + 1 worker), old code then new, in memory and with a quarter of the graph
# OLD: a built checkout of the code before (1cff3c6), NEW: of the new (7cd33c2); pm.sh (beside this file) setup first
OLD=${OLD:?}; NEW=${NEW:?}
set -e
inst() { (cd $1 && make -s install PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config >/dev/null 2>&1); md5sum /usr/lib/postgresql/15/lib/vecsearch.so $1/vecsearch.so; "$(dirname "$0")"/pm.sh restart; }
inst "$OLD"
"$(dirname "$0")"/pm.sh run old 1GB
"$(dirname "$0")"/pm.sh run old 223MB
inst "$NEW"
"$(dirname "$0")"/pm.sh run new 1GB
"$(dirname "$0")"/pm.sh run new 223MB
"$(dirname "$0")"/pm.sh run new 1GB
inst "$OLD"
"$(dirname "$0")"/pm.sh run old 1GB
echo done
