#!/usr/bin/python3
"""Two builds of vecsearch compared at equal recall, query by query, on two servers at once.

Single benchmark runs of the same code minutes apart differed by up to 66% in QPS at one setting
on this 2-vCPU machine (its host takes bursts of time from it), so sweeps made one after the
other cannot compare two builds of the code, and neither can two sweeps interleaved setting by
setting: the bursts move each curve up and down between settings. Here:

- server A and server B run side by side (e.g. the system's PostgreSQL and a copy of it with the
  other build installed, `make install DESTDIR=...`; PostgreSQL finds its libraries relative to
  its binaries); the same data is loaded in both and an hnsw index built in each, one after the
  other;
- each side's recall@10 is measured at every ef_search to 100 and in steps above (recall does
  not depend on time);
- for each target recall, each side takes the smallest ef_search of the grid that reaches it, and
  R timed passes run both sides together, query by query: query i runs on one side, then on
  the other, the first side alternating. A burst then falls on both sides alike, and the ratio
  of the two sides' QPS within one pass cancels it. Reports the median ratio over the passes.
- the two servers differ a little by themselves (the same build on both measured about 4%
  apart on this machine): run it again with the builds swapped and take the geometric mean.

  ab_interleaved.py --dsn-a "host=127.0.0.1 port=54360 user=postgres" --label-a new \\
                    --dsn-b "host=127.0.0.1 port=54361 user=postgres" --label-b old \\
                    --datasets fashion-mnist,glove-100 --rounds 7 --out DIR

Writes DIR/ab.jsonl and DIR/ab.md. Needs the data sets as ann_bench.py does (VS_SHARED for the
prepared GloVe-100 folder).
"""
import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402

from vsbench import datasets, methods, pg  # noqa: E402
from vsbench.progress import log  # noqa: E402
from vsbench.metrics import recall_at  # noqa: E402

# every ef_search to 100, then steps of 5 to 200 and of 25 to 400: a coarser grid made the
# sides' picks up to a step apart in cost (one step of 35 -> 40 is about 10% of QPS)
EF_GRID = list(range(10, 101)) + list(range(105, 201, 5)) + list(range(225, 401, 25))
TARGETS = [0.70, 0.80, 0.85, 0.90, 0.95, 0.97, 0.98, 0.99, 0.995, 0.999]



def pin(sides, cpu):
    """Both backends on one CPU, this client on the others (same host, both servers local): the
    two vCPUs of this machine's host differ in how much time they lose, so a backend on each
    measured one vCPU against the other (ratios of one pass ranged 0.74-1.56). Moving a
    server's process needs root (or CAP_SYS_NICE) when it runs as another user."""
    for _, conn in sides:
        cur = conn.cursor()
        cur.execute("SELECT pg_backend_pid()")
        os.sched_setaffinity(cur.fetchone()[0], {cpu})
    others = set(range(os.cpu_count())) - {cpu}
    if others:
        os.sched_setaffinity(0, others)


def interleaved_pass(sides, table, metric, literals, settings, warmup=20):
    """One timed pass over the queries on every side, query by query: query i runs on each side
    in turn (the first side alternating), so a burst of contention on the host falls on both.
    `settings` per side label. Returns ids found and latencies (seconds), per side label."""
    curs = {label: pg.knn_cursor(conn, table, metric, 10, settings[label], literals[:warmup])
            for label, conn in sides}
    found = {label: [] for label, _ in sides}
    lat = {label: [] for label, _ in sides}
    for i, lit in enumerate(literals):
        for label, _ in (sides if i % 2 == 0 else sides[::-1]):
            t0 = time.perf_counter()
            curs[label].execute("EXECUTE knn(%s)", (lit,))
            rows = curs[label].fetchall()
            lat[label].append(time.perf_counter() - t0)
            found[label].append([r[0] for r in rows])
    return found, lat


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dsn-a", required=True)
    ap.add_argument("--dsn-b", required=True)
    ap.add_argument("--label-a", default="A")
    ap.add_argument("--label-b", default="B")
    ap.add_argument("--datasets", default="fashion-mnist,glove-100")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--pin-cpu", type=int, default=None,
                    help="run both sides' backends on this CPU and this client on the others")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    dsn_of = {args.label_a: args.dsn_a, args.label_b: args.dsn_b}
    sides = [(label, pg.connect(dsn)) for label, dsn in dsn_of.items()]
    for _, c in sides:
        c.autocommit = True
    if args.pin_cpu is not None:
        pin(sides, args.pin_cpu)
    records = []
    md = ["%s against %s at equal recall@10: the smallest ef_search of each that reaches the recall, "
          "both timed in the same %d passes, query by query" % (args.label_b, args.label_a, args.rounds), ""]
    for name in args.datasets.split(","):
        ds = datasets.load(name)
        table = "ab_" + name.replace("-", "_")
        literals = [pg.vector_literal(q) for q in ds["queries"]]
        # the hnsw index exactly as ann_bench.py builds it (m, ef_construction of the data set)
        hnsw = next(m for m in methods.pg_methods(ds["params"]) if m["name"] == "vecsearch-hnsw")
        ddl = hnsw["ddl"].format(opclass=pg.OPERATORS[ds["metric"]][1])
        curve = {}
        for label, conn in sides:
            log("%s: loading %s" % (label, name))
            pg.load_table(conn, table, ds["base"])
            b = pg.build_index(conn, dsn_of[label], table, table + "_idx", ddl, {"maintenance_work_mem": "2GB"})
            records.append({"type": "build", "dataset": name, "side": label, **b})
            log("%s: hnsw built in %.2f s" % (label, b["build_s"]))
            # one untimed pass at the widest setting, as ann_bench.py makes, then the recall grid
            pg.run_queries(conn, table, ds["metric"], literals, 10, {"vecsearch.ef_search": EF_GRID[-1]}, warmup=0)
            for ef in EF_GRID:
                found, _ = pg.run_queries(conn, table, ds["metric"], literals, 10, {"vecsearch.ef_search": ef},
                                          warmup=0)
                curve.setdefault(label, []).append(
                    (ef, recall_at(ds["base"], ds["queries"], ds["gt"], found, ds["metric"], 10)))
            records.append({"type": "recall_grid", "dataset": name, "side": label, "grid": curve[label]})
        md += ["### %s" % name, "",
               "| recall@10 | %s ef_search (recall) | %s ef_search (recall) | %s QPS | %s QPS | %s / %s, median (range) |"
               % (args.label_a, args.label_b, args.label_a, args.label_b, args.label_b, args.label_a),
               "|---|---|---|---|---|---|"]
        # below a side's recall at its smallest ef_search that side could only be compared at more
        lowest = max(curve[label][0][1] for label, _ in sides)
        for t in TARGETS:
            pick = {label: next(((ef, r) for ef, r in curve[label] if r >= t), None) for label, _ in sides}
            if t < lowest or None in pick.values():
                continue
            settings = {label: {"vecsearch.ef_search": pick[label][0]} for label, _ in sides}
            qps = {label: [] for label, _ in sides}
            for _ in range(args.rounds):
                _, lat = interleaved_pass(sides, table, ds["metric"], literals, settings)
                for label, _ in sides:
                    qps[label].append(len(lat[label]) / float(np.sum(lat[label])))
            ratios = [b / a for a, b in zip(qps[args.label_a], qps[args.label_b])]
            rec = {"type": "equal_recall", "dataset": name, "target": t,
                   "ef_search": {label: pick[label][0] for label, _ in sides},
                   "recall10": {label: pick[label][1] for label, _ in sides},
                   "qps_passes": qps, "ratio_median": float(np.median(ratios)), "ratios": ratios}
            records.append(rec)
            md.append("| %.3f | %d (%.4f) | %d (%.4f) | %.0f | %.0f | %.2f (%.2f-%.2f) |" % (
                t, pick[args.label_a][0], pick[args.label_a][1], pick[args.label_b][0], pick[args.label_b][1],
                np.median(qps[args.label_a]), np.median(qps[args.label_b]), rec["ratio_median"],
                min(ratios), max(ratios)))
            log(md[-1])
        md.append("")
        for _, conn in sides:
            conn.cursor().execute("DROP TABLE %s" % table)
    with open(os.path.join(args.out, "ab.jsonl"), "w") as f:
        for r in records:
            f.write(json.dumps(r) + "\n")
    with open(os.path.join(args.out, "ab.md"), "w") as f:
        f.write("\n".join(md) + "\n")
    print("\n".join(md))


if __name__ == "__main__":
    main()
