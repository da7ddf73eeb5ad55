#!/usr/bin/python3
"""Insert throughput into a populated hnsw index, and recall after the inserts (issue 18).

Loads the first N rows of the deterministic synthetic set (default 1,000,000 x 128, the
benchmark's synthetic-1m-128), builds `hnsw` (m 16, ef_construction 64), then inserts the
next rows of the same generation through SQL, one row per statement and transaction:
first from 1 client, then from 4 (pgbench, each client takes the next row id from a
sequence), and more until 10% of N was added. Reports rows/s per client count, and
recall@10 over 1,000 queries against exact search over all rows, before and after the
inserts (ef_search 40 and 100).

  insert_bench.py --dsn "host=127.0.0.1 port=54331 user=postgres" --out DIR [--rows 1000000]

The server must have vecsearch installed; pgbench comes from PostgreSQL's bin directory
(--pgbench). Results: DIR/insert.json and DIR/insert.md.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402

from vsbench import pg, synthetic  # noqa: E402
from vsbench.progress import log  # noqa: E402
from vsbench.metrics import exact_ground_truth, recall_at  # noqa: E402

TABLE = "insert_bench"



def pgbench(args, clients, transactions):
    """Runs the insert script: (rows/s, rows inserted)."""
    script = os.path.join(args.out, "insert.sql")
    with open(script, "w") as f:
        f.write("WITH n AS (SELECT nextval('insert_bench_next') AS id)\n"
                "INSERT INTO %s (id, embedding) SELECT e.id, e.embedding FROM insert_bench_extra e, n "
                "WHERE e.id = n.id;\n" % TABLE)
    conn = dict(kv.split("=", 1) for kv in args.dsn.split())
    cmd = [args.pgbench, "-n", "-h", conn.get("host", "127.0.0.1"), "-p", conn.get("port", "5432"),
           "-U", conn.get("user", "postgres"), "-c", str(clients), "-j", str(clients),
           "-t", str(transactions), "-f", script, conn.get("dbname", "postgres")]
    t0 = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    elapsed = time.perf_counter() - t0
    m = re.search(r"number of transactions actually processed: (\d+)", out)
    rows = int(m.group(1))
    return rows / elapsed, rows


def recall(conn, queries, gt, base, ef):
    found, _ = pg.run_queries(conn, TABLE, "l2", [pg.vector_literal(q) for q in queries], 10,
                              {"vecsearch.ef_search": ef})
    return recall_at(base, queries, gt, found, "l2", 10)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dsn", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--single", type=int, default=10_000, help="rows inserted by 1 client")
    ap.add_argument("--pgbench", default="/usr/lib/postgresql/15/bin/pgbench")
    ap.add_argument("--reuse", action="store_true", help="keep the loaded table and index of an earlier run")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    n, extra = args.rows, args.rows // 10
    log("generating %d x %d (the first %d rows, then %d to insert)" % (n + extra, args.dim, n, extra))
    everything, queries = synthetic.generate(n + extra, args.dim, seed=1234, n_queries=1000)
    base, added = everything[:n], everything[n:]
    conn = pg.connect(args.dsn)
    cur = conn.cursor()
    result = {"rows": n, "dim": args.dim, "inserted": extra, "index": "hnsw (m = 16, ef_construction = 64)"}
    if not args.reuse:
        log("loading %d rows and building the index" % n)
        pg.load_table(conn, TABLE, base)
        build = pg.build_index(conn, args.dsn, TABLE, TABLE + "_idx",
                               "USING hnsw (embedding vector_l2_ops) WITH (m = 16, ef_construction = 64)",
                               {"maintenance_work_mem": "4GB"})
        result["build_s"] = build["build_s"]
        pg.load_table(conn, "insert_bench_extra", added)
        cur.execute("UPDATE insert_bench_extra SET id = id + %d" % n)
        cur.execute("ALTER TABLE insert_bench_extra ADD PRIMARY KEY (id)")
    cur.execute("DELETE FROM %s WHERE id >= %d" % (TABLE, n))
    cur.execute("VACUUM %s" % TABLE)
    pg.prewarm(conn, TABLE)
    pg.prewarm(conn, TABLE + "_idx")
    cur.execute("DROP SEQUENCE IF EXISTS insert_bench_next")
    cur.execute("CREATE SEQUENCE insert_bench_next START %d" % n)

    gt_before = exact_ground_truth(base, queries, "l2", k=100)
    result["recall_before"] = {ef: recall(conn, queries, gt_before, base, ef) for ef in (40, 100)}
    log("recall@10 before: %s" % result["recall_before"])

    done = 0
    result["throughput"] = {}
    for clients, rows in ((1, args.single), (4, 2 * args.single)):
        rate, got = pgbench(args, clients, rows // clients)
        done += got
        result["throughput"][clients] = rate
        log("%d client(s): %d rows at %.0f rows/s" % (clients, got, rate))
    if done < extra:
        rate, got = pgbench(args, 4, (extra - done) // 4)
        done += got
    cur.execute("SELECT count(*) FROM %s" % TABLE)
    total = cur.fetchone()[0]
    grown = everything[:total]
    gt_after = exact_ground_truth(grown, queries, "l2", k=100)
    result["recall_after"] = {ef: recall(conn, queries, gt_after, grown, ef) for ef in (40, 100)}
    result["rows_after"] = total
    log("recall@10 after %d inserts: %s" % (total - n, result["recall_after"]))
    with open(os.path.join(args.out, "insert.json"), "w") as f:
        json.dump(result, f, indent=1)
    with open(os.path.join(args.out, "insert.md"), "w") as f:
        f.write("Inserts into hnsw on %d x %d synthetic rows (m 16, ef_construction 64), one row per "
                "transaction over TCP loopback:\n\n" % (n, args.dim))
        f.write("| clients | rows/s |\n|---|---|\n")
        for c, r in result["throughput"].items():
            f.write("| %d | %.0f |\n" % (c, r))
        f.write("\nrecall@10 (1,000 queries, exact ground truth over the rows present) at ef_search 40 / 100: "
                "%.4f / %.4f with %d rows, %.4f / %.4f after %d more were inserted.\n" % (
                    result["recall_before"][40], result["recall_before"][100], n,
                    result["recall_after"][40], result["recall_after"][100], total - n))
    return 0


if __name__ == "__main__":
    sys.exit(main())
