"""PostgreSQL side of the benchmark: load vectors, build an index, time prepared queries.

Everything goes over a real connection (psycopg2, TCP loopback), as an application would:
server-side prepared statements, one query at a time, the client's clock around each
EXECUTE ... fetchall(), so the figures include parsing the vector literal and the round trip.
"""
import io
import multiprocessing
import os
import threading
import time

import numpy as np
import psycopg2

from .metrics import latency_stats

OPERATORS = {"l2": ("<->", "vector_l2_ops"), "cosine": ("<=>", "vector_cosine_ops"),
             "ip": ("<#>", "vector_ip_ops")}

# A heap row holds at most ~8 KB; PLAIN storage keeps vectors up to this many dimensions in
# the row (no TOAST lookup per distance), as pgvector's published benchmarks do.
PLAIN_STORAGE_MAX_DIM = 1900


def connect(dsn):
    conn = psycopg2.connect(dsn)
    conn.autocommit = True
    return conn


def vector_literal(v):
    # %.9g reads back to the same float32
    return "[" + ",".join("%.9g" % x for x in v) + "]"


def _copy_chunk(cur, table, ids, rows):
    """One binary COPY of rows: PGCOPY header, (id int4, embedding vector) tuples, trailer."""
    n, d = rows.shape
    rec = np.dtype([("nfields", ">i2"), ("len_id", ">i4"), ("id", ">i4"), ("len_vec", ">i4"),
                    ("dim", ">i2"), ("unused", ">i2"), ("x", ">f4", (d,))])
    buf = np.empty(n, dtype=rec)
    buf["nfields"] = 2
    buf["len_id"] = 4
    buf["id"] = ids
    buf["len_vec"] = 4 + 4 * d
    buf["dim"] = d
    buf["unused"] = 0
    buf["x"] = rows
    data = (b"PGCOPY\n\xff\r\n\x00" + b"\x00" * 8 + buf.tobytes() + b"\xff\xff")
    cur.copy_expert(f"COPY {table} (id, embedding) FROM STDIN WITH (FORMAT binary)", io.BytesIO(data))


def extension_dsn(conn, dsn, extension):
    """A connection string for a database of its own that has `extension` (created on first use),
    or None where the server does not offer that extension."""
    cur = conn.cursor()
    cur.execute("SELECT 1 FROM pg_available_extensions WHERE name = %s", (extension,))
    if cur.fetchone() is None:
        return None
    db = "vs_bench_" + extension
    cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (db,))
    if cur.fetchone() is None:
        cur.execute("CREATE DATABASE %s" % db)
    # libpq takes the last of repeated keywords: this overrides any dbname in dsn
    return "%s dbname=%s" % (dsn, db)


def load_table(conn, table, base, chunk=50_000, extension="vecsearch"):
    """(Re)creates `table` with ids 0..n-1, loads it, and leaves it analysed and prewarmed."""
    n, d = base.shape
    cur = conn.cursor()
    cur.execute("CREATE EXTENSION IF NOT EXISTS %s" % extension)
    cur.execute("CREATE EXTENSION IF NOT EXISTS pg_prewarm")
    cur.execute(f"DROP TABLE IF EXISTS {table}")
    cur.execute(f"CREATE TABLE {table} (id int4 NOT NULL, embedding vector({d}) NOT NULL)")
    if d <= PLAIN_STORAGE_MAX_DIM:
        cur.execute(f"ALTER TABLE {table} ALTER COLUMN embedding SET STORAGE PLAIN")
    t0 = time.perf_counter()
    for start in range(0, n, chunk):
        stop = min(n, start + chunk)
        _copy_chunk(cur, table, np.arange(start, stop, dtype=np.int32), base[start:stop])
    cur.execute(f"VACUUM ANALYZE {table}")
    load_s = time.perf_counter() - t0
    prewarm(conn, table)
    cur.execute("SELECT pg_total_relation_size(%s)", (table,))
    return {"load_s": load_s, "table_bytes": cur.fetchone()[0]}


def prewarm(conn, relation):
    cur = conn.cursor()
    cur.execute("SELECT pg_prewarm(%s)", (relation,))
    cur.execute("SELECT reltoastrelid FROM pg_class WHERE oid = %s::regclass", (relation,))
    toast = cur.fetchone()[0]
    if toast:
        cur.execute("SELECT pg_prewarm(%s::regclass)", (toast,))


def access_method_exists(conn, am):
    cur = conn.cursor()
    cur.execute("SELECT 1 FROM pg_am WHERE amname = %s", (am,))
    return cur.fetchone() is not None


def _rss_anon(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("RssAnon:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _dev_shm_used():
    """Bytes in use in /dev/shm, where a parallel build's dynamic shared memory segment lives
    (dynamic_shared_memory_type = posix, the default on Linux)."""
    try:
        st = os.statvfs("/dev/shm")
    except OSError:
        return 0
    return (st.f_blocks - st.f_bfree) * st.f_frsize


class PeakMemorySampler(threading.Thread):
    """Samples the private memory (RssAnon: not shared_buffers) of a backend and its parallel
    workers every 50 ms while a build runs; .peak is the largest sum seen. .peak_shm is the
    largest growth of /dev/shm meanwhile: a parallel build's shared graph or sort state."""

    def __init__(self, dsn, leader_pid):
        super().__init__(daemon=True)
        self.dsn, self.leader, self.peak = dsn, leader_pid, 0
        self.shm_before, self.peak_shm = _dev_shm_used(), 0
        self.done = threading.Event()

    def run(self):
        conn = connect(self.dsn)
        cur = conn.cursor()
        while not self.done.is_set():
            cur.execute("SELECT pid FROM pg_stat_activity WHERE leader_pid = %s", (self.leader,))
            pids = [self.leader] + [r[0] for r in cur.fetchall()]
            self.peak = max(self.peak, sum(_rss_anon(p) for p in pids))
            self.peak_shm = max(self.peak_shm, _dev_shm_used() - self.shm_before)
            self.done.wait(0.05)
        conn.close()


def build_index(conn, dsn, table, index, ddl, settings, workers=None):
    """Runs CREATE INDEX; returns build seconds, index bytes and the build's peak private memory.
    With `workers`, the build asks for exactly that many parallel workers: the table's
    parallel_workers option overrides the planner's size rule, max_parallel_maintenance_workers
    allows them."""
    cur = conn.cursor()
    cur.execute(f"DROP INDEX IF EXISTS {index}")
    if workers is not None:
        cur.execute(f"ALTER TABLE {table} SET (parallel_workers = {int(workers)})")
        settings = {**settings, "max_parallel_maintenance_workers": workers}
    else:
        cur.execute(f"ALTER TABLE {table} RESET (parallel_workers)")
    # every build starts from a clean slate: no dirty buffers of earlier work to flush and
    # recycled WAL segments, so a build is not charged for its predecessors' I/O
    cur.execute("CHECKPOINT")
    apply_settings(cur, settings)
    cur.execute("SELECT pg_backend_pid()")
    sampler = PeakMemorySampler(dsn, cur.fetchone()[0])
    sampler.start()
    t0 = time.perf_counter()
    try:
        cur.execute(f"CREATE INDEX {index} ON {table} {ddl}")
    finally:
        build_s = time.perf_counter() - t0
        sampler.done.set()
        sampler.join()
    cur.execute("SELECT pg_relation_size(%s)", (index,))
    size = cur.fetchone()[0]
    # the build leaves the index's pages dirty in shared_buffers (6.9 GB at 10M rows): write
    # them out before any query is timed, or the sweep measures the checkpointer beside it
    t0 = time.perf_counter()
    cur.execute("CHECKPOINT")
    checkpoint_s = time.perf_counter() - t0
    prewarm(conn, index)
    cur.execute("RESET max_parallel_maintenance_workers")
    return {"build_s": build_s, "index_bytes": size, "build_peak_rss_bytes": sampler.peak or None,
            "build_peak_shm_bytes": sampler.peak_shm or None, "workers": workers,
            "checkpoint_s": checkpoint_s}


def drop_index(conn, index):
    conn.cursor().execute(f"DROP INDEX IF EXISTS {index}")


def apply_settings(cur, settings):
    for name, value in (settings or {}).items():
        cur.execute("SELECT set_config(%s, %s, false)", (name, str(value)))


def prepare_knn(cur, table, metric, k):
    op = OPERATORS[metric][0]
    cur.execute("DEALLOCATE ALL")
    cur.execute(f"PREPARE knn(vector) AS SELECT id FROM {table} ORDER BY embedding {op} $1 LIMIT {k}")


def knn_cursor(conn, table, metric, k, settings, warm_literals=()):
    """A cursor of `conn` with `settings` applied and the statement `knn` prepared, after it ran
    once untimed for each of `warm_literals`."""
    cur = conn.cursor()
    apply_settings(cur, settings)
    prepare_knn(cur, table, metric, k)
    for lit in warm_literals:
        cur.execute("EXECUTE knn(%s)", (lit,))
        cur.fetchall()
    return cur


def run_queries(conn, table, metric, literals, k, settings, warmup=20):
    """Single client: returns (ids per query, latencies in seconds)."""
    cur = knn_cursor(conn, table, metric, k, settings, literals[:warmup])
    found, lat = [], []
    for lit in literals:
        t0 = time.perf_counter()
        cur.execute("EXECUTE knn(%s)", (lit,))
        rows = cur.fetchall()
        lat.append(time.perf_counter() - t0)
        found.append([r[0] for r in rows])
    return found, np.array(lat)


def round_trip_cost(conn, n=2000):
    """Latency of a trivial prepared statement: what every query pays before any index work."""
    cur = conn.cursor()
    cur.execute("DEALLOCATE ALL")
    cur.execute("PREPARE trivial(int) AS SELECT $1")
    for i in range(100):
        cur.execute("EXECUTE trivial(%s)", (i,))
        cur.fetchall()
    lat = []
    for i in range(n):
        t0 = time.perf_counter()
        cur.execute("EXECUTE trivial(%s)", (i,))
        cur.fetchall()
        lat.append(time.perf_counter() - t0)
    return latency_stats(np.array(lat))


def _client(args):
    dsn, table, metric, literals, k, settings, barrier, seconds = args
    conn = connect(dsn)
    # one untimed pass, as the one-client sweep has: a new backend page-faults each page of
    # shared_buffers it first touches (4 kB pages without huge_pages), which at 10M rows cost
    # a new connection 14x its steady-state latency for its first seconds
    cur = knn_cursor(conn, table, metric, k, settings, literals)
    barrier.wait()
    done, i, t0 = 0, 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        cur.execute("EXECUTE knn(%s)", (literals[i],))
        cur.fetchall()
        i = (i + 1) % len(literals)
        done += 1
    elapsed = time.perf_counter() - t0
    conn.close()
    return done, elapsed


def concurrent_qps(dsn, table, metric, literals, k, settings, clients, seconds=10.0):
    """`clients` processes, each with its own connection, querying for `seconds`; total QPS."""
    with multiprocessing.Manager() as mgr:
        barrier = mgr.Barrier(clients)
        # each client starts at its own offset so they do not march in lockstep
        args = [(dsn, table, metric, literals[(c * len(literals)) // clients:] +
                 literals[:(c * len(literals)) // clients], k, settings, barrier, seconds)
                for c in range(clients)]
        with multiprocessing.get_context("fork").Pool(clients) as pool:
            results = pool.map(_client, args)
    total = sum(r[0] for r in results)
    wall = max(r[1] for r in results)
    return {"clients": clients, "queries": total, "qps": total / wall}


def server_settings(conn):
    cur = conn.cursor()
    cur.execute("CREATE EXTENSION IF NOT EXISTS vecsearch")
    names = ["server_version", "shared_buffers", "work_mem", "maintenance_work_mem",
             "max_parallel_workers_per_gather", "max_parallel_maintenance_workers", "jit", "fsync",
             "huge_pages", "min_dynamic_shared_memory"]
    out = {}
    for n in names:
        cur.execute(f"SHOW {n}")
        out[n] = cur.fetchone()[0]
    cur.execute("SELECT vecsearch_simd()")
    out["vecsearch.simd"] = cur.fetchone()[0]
    return out

