
# Copyright (c) vecsearch contributors
#
# A parallel build whose shared memory segment cannot be had goes on as a serial build with
# a NOTICE, instead of failing (pgvector#453: a container's 64 MB /dev/shm, "could not resize
# shared memory segment ... No space left on device").
#
# The server runs with its own small /dev/shm: a 16 MB tmpfs mounted in a private mount
# namespace (an unprivileged user namespace maps the test's user to root there to mount it,
# and a nested one maps it back to a plain user to run the server). Enough for the server's
# own segments, not for the shared graph of an hnsw build of 30,000 32-d rows (about 30 MB)
# The build must succeed with the NOTICE and leave a sound index (vecsearch_verify) with
# every row, at the usual recall; a build whose segment fits still runs in parallel, and so
# does ivf's, which needs little shared memory.
#
# Needs `unshare` with user namespaces (util-linux, Linux with unprivileged user namespaces,
# as Debian 12 has them); the test says so and skips where the kernel refuses them.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use VsTest;
use Test::More;

my $probe = system('unshare -r -m sh -c "mount -t tmpfs -o size=1m tmpfs /dev/shm" >/dev/null 2>&1');
plan skip_all => 'no unprivileged user and mount namespaces here (unshare -r -m failed)'
  if $probe != 0;

my $node = PostgreSQL::Test::Cluster->new('small_shm');
$node->init;
$node->append_conf('postgresql.conf', <<'CONF');
dynamic_shared_memory_type = posix
min_dynamic_shared_memory = 0
max_parallel_maintenance_workers = 2
max_worker_processes = 8
maintenance_work_mem = 256MB
client_min_messages = notice
CONF

# pg_ctl (and the server it forks) in the namespace with the small /dev/shm
my $inner_uid = $> == 0 ? 1 : $>;
my $pgdata = $node->data_dir;
my $log = $node->logfile;
my $pg_ctl = "pg_ctl -w -D '$pgdata' -l '$log' start";
my $rc = system('unshare', '-r', '-m', 'sh', '-c',
	"mount -t tmpfs -o size=16m tmpfs /dev/shm && exec unshare --map-user=$inner_uid $pg_ctl");
is($rc, 0, 'server started with a 16 MB /dev/shm');
$node->_update_pid(1);

$node->safe_psql('postgres', "CREATE EXTENSION vecsearch;\n" . gen_vec_sql());
$node->safe_psql('postgres',
	vec_table_sql('t', 30000, 32) . 'ALTER TABLE t SET (parallel_workers = 2); ANALYZE t;');

sub build
{
	my ($sql) = @_;
	my ($ret, $out, $err) = $node->psql('postgres',
		"SET client_min_messages = debug1;\n$sql", on_error_stop => 1);
	return ($ret, $err);
}

my @queries = map { [ "q$_", $node->safe_psql('postgres', "SELECT gen_vec($_ * 7919, $_ % 8, 32)") ] } 1 .. 10;

# ---------------------------------------------------------------- hnsw
my ($ret, $err) = build('CREATE INDEX t_hnsw ON t USING hnsw (v) WITH (m = 16, ef_construction = 40);');
is($ret, 0, 'hnsw: the build succeeds though its shared graph does not fit /dev/shm')
  or diag($err);
note($err);
unlike($err, qr/could not resize shared memory segment/, 'hnsw: no shared memory error');
like($err,
	qr/NOTICE:  hnsw build of "t_hnsw": a parallel build needs a shared memory segment of about \d+ MB, and only \d+ MB are free in \/dev\/shm; building serially/,
	'hnsw: the NOTICE says why the build is serial and what it needed');
like($err, qr/HINT:  .*--shm-size/, 'hnsw: the hint says how to make room');
check_verify($node, 'hnsw serial fallback', 't_hnsw');
hnsw_check_full($node, 'serial fallback', 't', 't_hnsw', '<->', $queries[0][1]);
hnsw_check_recall($node, 'serial fallback', 't', 't_hnsw', '<->', \@queries, 10, 0.9);

# a build whose segment fits still runs in parallel, with the same /dev/shm (analysed: without
# statistics the segment is sized from the table's pages, 20 MB for these 3,000 rows)
($ret, $err) = build(
	'CREATE TABLE small AS SELECT * FROM t WHERE id <= 3000; ANALYZE small; ALTER TABLE small SET (parallel_workers = 2);'
	  . 'CREATE INDEX small_hnsw ON small USING hnsw (v);');
is($ret, 0, 'hnsw: a small build succeeds');
like($err, qr/using [12] parallel workers/, 'hnsw: a build whose segment fits runs in parallel');
unlike($err, qr/building serially/, 'hnsw: and says nothing about a fallback');
$node->safe_psql('postgres', 'DROP INDEX t_hnsw; DROP TABLE small;');

# ---------------------------------------------------------------- ivf
# ivf's segment holds only its centroids and the sort's coordination (the sorted runs go
# to temporary files), so its parallel build fits the small /dev/shm and stays parallel.
($ret, $err) = build('SET vecsearch.force_parallel_build = on; CREATE INDEX t_ivf ON t USING ivf (v) WITH (lists = 100);');
is($ret, 0, 'ivf: a parallel build succeeds with the small /dev/shm') or diag($err);
like($err, qr/using [12] parallel workers/, 'ivf: it runs in parallel');
unlike($err, qr/building serially/, 'ivf: and says nothing about a fallback');
check_verify($node, 'ivf parallel', 't_ivf');
is($node->safe_psql('postgres', force_index(100) . 'SELECT count(*) FROM (SELECT id FROM t ORDER BY v <-> (SELECT v FROM t WHERE id = 1) LIMIT 30000) s'),
	30000, 'ivf: every row is in the index');

$node->stop;
done_testing();
