#!/usr/bin/python3
"""vecsearch ANN benchmark: recall vs. QPS, build time and size, side by side with FAISS and
hnswlib on the same vectors in the same run. Normally started by scripts/bench.sh, which sets
up the server; see test/bench/README.md.

  ann_bench.py --dsn "host=127.0.0.1 port=54331 user=postgres" --datasets sift-10k --out DIR
"""
import argparse
import datetime
import os
import platform
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from vsbench import datasets, libs, methods, pg, report  # noqa: E402
from vsbench.progress import log  # noqa: E402
from vsbench.metrics import fastest_pass, recall_at  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
# pgvector's reference figures on this machine type: optional (ratios are left out without them)
ANCHORS = os.environ.get("VS_ANCHORS", os.path.join(datasets.EXTRA_ROOT, "anchors", "pgvector.md"))



def evaluator(ds):
    def evaluate(found):
        return {"recall1": recall_at(ds["base"], ds["queries"][:len(found)], ds["gt"], found, ds["metric"], 1),
                "recall10": recall_at(ds["base"], ds["queries"][:len(found)], ds["gt"], found, ds["metric"], 10),
                "n_queries": len(found)}
    return evaluate


def pick_concurrency_setting(points):
    """The cheapest setting that reaches recall@10 0.95, else the most accurate one."""
    good = [p for p in points if p["recall10"] >= 0.95]
    return (max(good, key=lambda p: p["qps"]) if good else max(points, key=lambda p: p["recall10"]))["setting"]


def run_pg(args, ds, conn, dsn, table, method, evaluate, base_record):
    recs = []
    literals_all = [pg.vector_literal(q) for q in ds["queries"]]
    literals = literals_all[:method.get("max_queries", len(literals_all))]
    index = None
    if method["am"] is not None:
        if not pg.access_method_exists(conn, method["am"]):
            return [{**base_record, "type": "skipped", "method": method["name"],
                     "reason": "access method %s is not in this build yet" % method["am"]}]
        index = "%s_%s_idx" % (table, method["am"])
        ddl = method["ddl"].format(opclass=pg.OPERATORS[ds["metric"]][1])
        # one build per worker count asked for; the last one is searched
        for workers in args.build_workers or [None]:
            log("%s: CREATE INDEX ... %s%s" % (method["name"], ddl,
                                               "" if workers is None else " (%d workers)" % workers))
            mwm = args.maintenance_work_mem or ds["params"].get("maintenance_work_mem", "4GB")
            build = pg.build_index(conn, dsn, table, index, ddl, {"maintenance_work_mem": mwm}, workers)
            recs.append({**base_record, "type": "build", "method": method["name"], "ddl": ddl, **build})
    else:
        recs.append({**base_record, "type": "build", "method": method["name"], "ddl": "no index (sequential scan)",
                     "build_s": 0.0, "index_bytes": 0, "build_peak_rss_bytes": None})
    points = []
    if index:
        # one untimed pass over the queries at the sweep's widest setting: the backend's caches
        # (buffer hints, metadata, its page tables over shared_buffers) warm up as in a pooled
        # connection. At the first setting only, the 10M run's later settings paid for pages the
        # backend touched first: 833 QPS at ef_search 16 after 2,661 at 10, while two clients
        # after a pass made 2,499 at ef_search 60 (4 kB pages: each is a page fault per backend)
        pg.run_queries(conn, table, ds["metric"], literals, 10, method["sweep"][-1], warmup=0)
    for setting in method["sweep"]:
        passes = [pg.run_queries(conn, table, ds["metric"], literals, 10, setting) for _ in range(args.repeats)]
        p = {**base_record, "type": "search", "method": method["name"], "setting": setting,
             **evaluate(passes[0][0]), **fastest_pass([lat for _, lat in passes])}
        log("%s %s: recall@10 %.4f, %.0f QPS, p99 %.2f ms" % (method["name"], setting, p["recall10"], p["qps"], p["p99_ms"]))
        points.append(p)
    recs += points
    for clients in args.clients:
        setting = pick_concurrency_setting(points)
        c = pg.concurrent_qps(dsn, table, ds["metric"], literals, 10, setting, clients, args.concurrency_seconds)
        recs.append({**base_record, "type": "concurrency", "method": method["name"], "setting": setting, **c})
        log("%s with %d clients: %.0f QPS" % (method["name"], clients, c["qps"]))
    if index:
        pg.drop_index(conn, index)
    return recs


def database_for(args, conn, servers, extension, table, ds):
    """(connection, dsn) of the database that holds `extension` with the data set loaded, made on
    first use; None where the server does not offer the extension."""
    if extension not in servers:
        dsn = pg.extension_dsn(conn, args.dsn, extension)
        if dsn is None:
            log("%s: not installed in this server, its methods are skipped" % extension)
            servers[extension] = None
        else:
            log("%s: loading %s into a database of its own" % (extension, table))
            other = pg.connect(dsn)
            pg.load_table(other, table, ds["base"], extension=extension)
            servers[extension] = (other, dsn)
    return servers[extension]


def run_library(ds, method, evaluate, base_record, repeats=1):
    if method["kind"] == "faiss":
        make = lambda: libs.FaissIndex(method["family"], method["params"], ds["metric"])  # noqa: E731
    else:
        make = lambda: libs.HnswlibIndex(method["params"], ds["metric"])  # noqa: E731
    log("%s: build %s" % (method["name"], method["params"]))
    build, results = libs.run_library(make, ds["base"], ds["queries"], ds["metric"], method["sweep"], 10, evaluate,
                                      repeats)
    recs = [{**base_record, "type": "build", "method": method["name"], "params": method["params"],
             "build_threads": 2, **build}]
    for r in results:
        recs.append({**base_record, "type": "search", "method": method["name"], **r})
        log("%s %s: recall@10 %.4f, %.0f QPS" % (method["name"], r["setting"], r["recall10"], r["qps"]))
    return recs


def floor_checks(records):
    """Smoke-test assertions: recall floors only, never timings."""
    checks = []
    by_method = {}
    for r in records:
        if r["type"] == "search":
            by_method.setdefault((r["dataset"], r["method"]), []).append(r["recall10"])
    for (dsname, m), recalls in sorted(by_method.items()):
        # exact methods must be exact; PQ without re-ranking tops out lower by design
        floor = 0.999 if m in ("vecsearch-exact", "faiss-flat") else 0.7 if m == "faiss-ivfpq" else 0.9
        checks.append(("%s %s best recall@10 %.4f >= %.3f" % (dsname, m, max(recalls), floor), max(recalls) >= floor))
    return checks


def machine_description(conn):
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    flags = next((l for l in open("/proc/cpuinfo") if l.startswith("flags")), "")
    mem = next((int(l.split()[1]) for l in open("/proc/meminfo") if l.startswith("MemTotal")), 0)
    import faiss
    import hnswlib  # noqa: F401
    import numpy
    try:
        commit = subprocess.run(["git", "-C", HERE, "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True).stdout.strip()
    except OSError:
        commit = "?"
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gib": round(mem / 1048576, 1),
            "avx2": " avx2" in flags, "avx512f": " avx512f" in flags, "os": platform.platform(),
            "python": platform.python_version(), "numpy": numpy.__version__, "faiss": faiss.__version__,
            "hnswlib": _deb_version("python3-hnswlib"), "vecsearch_commit": commit,
            "server": pg.server_settings(conn)}


def _deb_version(pkg):
    r = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", pkg], capture_output=True, text=True)
    return r.stdout.strip() or "?"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dsn", help="libpq connection string of the server to measure")
    ap.add_argument("--render", metavar="DIR", help="only re-render DIR/README.md and plots from DIR/results.jsonl")
    ap.add_argument("--datasets", default="fashion-mnist,glove-100,sift-10k")
    ap.add_argument("--out", help="folder for results.jsonl, README.md and plots")
    ap.add_argument("--methods", default=".*", help="regular expression on method names")
    ap.add_argument("--queries", type=int, default=None, help="queries per data set (default: all, 1,000)")
    ap.add_argument("--base-rows", type=int, default=None, help="use only the first N base rows")
    ap.add_argument("--repeats", type=int, default=1,
                    help="timed passes per setting; the fastest is reported (all passes' QPS kept)")
    ap.add_argument("--clients", default="2", help="comma-separated concurrent client counts ('' for none)")
    ap.add_argument("--concurrency-seconds", type=float, default=10.0)
    ap.add_argument("--maintenance-work-mem", default=None,
                    help="for index builds (default: the data set's own, else 4GB)")
    ap.add_argument("--build-workers", default="",
                    help="comma-separated parallel worker counts: each index is built once per count "
                         "(default: once, as the server's max_parallel_maintenance_workers allows)")
    ap.add_argument("--quick", action="store_true", help="smoke test: 3 settings per sweep, recall floors checked")
    args = ap.parse_args()
    if args.render:
        return render(args.render)
    if not args.dsn or not args.out:
        ap.error("--dsn and --out are required unless --render is given")
    args.clients = [int(c) for c in args.clients.split(",") if c.strip()]
    args.build_workers = [int(w) for w in args.build_workers.split(",") if w.strip()]
    os.makedirs(args.out, exist_ok=True)
    jsonl = os.path.join(args.out, "results.jsonl")
    if os.path.exists(jsonl):
        os.remove(jsonl)

    conn = pg.connect(args.dsn)
    machine = machine_description(conn)
    anchors = report.read_anchors(ANCHORS)
    started = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    # scripts/bench.sh passes the command the user typed; run directly, this script's own line
    command = os.environ.get("VS_BENCH_COMMAND") or "test/bench/ann_bench.py " + " ".join(sys.argv[1:])
    report.write_jsonl(jsonl, [{"type": "run", "started": started, "command": command, "machine": machine,
                                "repeats": args.repeats}])
    sections, all_records = [], []
    wanted = re.compile(args.methods)

    for name in args.datasets.split(","):
        log("data set %s: loading" % name)
        ds = datasets.load(name, n_queries=args.queries)
        if args.base_rows:
            ds = datasets.subset(ds, args.base_rows)
        base_record = {"dataset": ds["name"]}
        info = {**base_record, "type": "dataset", "source": ds["source"], "n_base": len(ds["base"]),
                "dim": ds["base"].shape[1], "n_queries": len(ds["queries"]), "metric": ds["metric"],
                "params": ds["params"]}
        table = "bench_" + re.sub(r"\W", "_", ds["name"])
        log("%s: %d x %d into table %s" % (ds["name"], len(ds["base"]), ds["base"].shape[1], table))
        info.update(pg.load_table(conn, table, ds["base"]))
        servers = {"vecsearch": (conn, args.dsn)}
        roundtrip = pg.round_trip_cost(conn)
        recs = [info, {**base_record, "type": "roundtrip", **roundtrip}]
        evaluate = evaluator(ds)
        all_methods = methods.pg_methods(ds["params"]) + methods.library_methods(ds["params"])
        skip = ds["params"].get("skip", {})
        library_ds = None
        for m in all_methods:
            if not wanted.search(m["name"]):
                continue
            if m["name"] in skip:
                recs.append({**base_record, "type": "skipped", "method": m["name"], "reason": skip[m["name"]]})
                log("%s: skipped (%s)" % (m["name"], skip[m["name"]]))
                continue
            if args.quick:
                m = methods.quick_sweeps(m)
            if m["kind"] == "pg":
                target = database_for(args, conn, servers, m.get("extension", "vecsearch"), table, ds)
                if target is None:
                    recs.append({**base_record, "type": "skipped", "method": m["name"],
                                 "reason": "extension %s is not installed (scripts/pgvector.sh, "
                                           "VS_PGVECTOR_SRC)" % m["extension"]})
                    continue
                recs += run_pg(args, ds, target[0], target[1], table, m, evaluate, base_record)
            elif m["name"] in ds["params"].get("library_subset_methods", []):
                # on the first rows only, with their own exact ground truth
                n = ds["params"]["library_subset"]
                if library_ds is None:
                    log("%s: the first %d rows and their ground truth for %s" % (
                        ds["name"], n, ", ".join(ds["params"]["library_subset_methods"])))
                    library_ds = datasets.subset(ds, n)
                m = {**m, "name": "%s-%s" % (m["name"], "%dm" % (n // 10**6) if n >= 10**6 else "%dk" % (n // 1000))}
                recs += run_library(library_ds, m, evaluator(library_ds),
                                    {**base_record, "n_base": n,
                                     "note": "on the first %s rows, against their own exact ground truth" % f"{n:,}"},
                                    args.repeats)
            else:
                recs += run_library(ds, m, evaluate, base_record, args.repeats)
        for c, _ in filter(None, servers.values()):
            c.cursor().execute("DROP TABLE IF EXISTS %s" % table)
            if c is not conn:
                c.close()
        report.write_jsonl(jsonl, recs)
        all_records += recs
        conc = [r for r in recs if r["type"] == "concurrency"]
        sections.append(report.markdown(recs, anchors, roundtrip, conc))
        report.plot(os.path.join(args.out, "%s.png" % ds["name"]),
                    ds["name"], [r for r in recs if r["type"] == "search"], anchors)

    write_readme(args, machine, started, command, sections, all_records)
    if args.quick:
        checks = floor_checks(all_records)
        for text, ok in checks:
            print("%s - %s" % ("ok" if ok else "not ok", text))
        failed = sum(1 for _, ok in checks if not ok)
        print("%d passed, %d failed" % (len(checks) - failed, failed))
        return 1 if failed else 0
    return 0


def render(folder):
    """Rebuilds README.md and the plots of a results folder from its results.jsonl."""
    import json
    records = [json.loads(line) for line in open(os.path.join(folder, "results.jsonl"))]
    run = records[0]
    anchors = report.read_anchors(ANCHORS)
    sections = []
    names = [r["dataset"] for r in records if r["type"] == "dataset"]
    for name in names:
        recs = [r for r in records if r.get("dataset") == name]
        rt = next((r for r in recs if r["type"] == "roundtrip"), None)
        sections.append(report.markdown(recs, anchors, rt, [r for r in recs if r["type"] == "concurrency"]))
        report.plot(os.path.join(folder, "%s.png" % name), name, [r for r in recs if r["type"] == "search"], anchors)
    write_readme(argparse.Namespace(out=folder, repeats=run.get("repeats", 1)), run["machine"], run["started"],
                 run["command"], sections, records)
    return 0


def write_readme(args, machine, started, command, sections, records):
    srv = machine["server"]
    repeats = getattr(args, "repeats", 1)
    repeats_text = (", each setting timed in %d passes and the fastest reported, libraries' too "
                    "(ann-benchmarks' rule; every pass's QPS is in results.jsonl)" % repeats) if repeats > 1 else ""
    lines = ["# vecsearch benchmark results", "",
             "Run %s with `%s`." % (started, command), "",
             "Machine: %s, %d cores, %.1f GiB RAM (AVX2 %s, AVX-512F %s); %s." % (
                 machine["cpu"], machine["cores"], machine["memory_gib"], machine["avx2"], machine["avx512f"],
                 machine["os"]),
             "Server: PostgreSQL %s, shared_buffers %s, work_mem %s, maintenance_work_mem %s, "
             "max_parallel_workers_per_gather %s, max_parallel_maintenance_workers %s, jit %s, fsync %s, "
             "huge_pages %s, min_dynamic_shared_memory %s; vecsearch %s kernels (commit %s)." % (
                 srv["server_version"], srv["shared_buffers"], srv["work_mem"], srv["maintenance_work_mem"],
                 srv["max_parallel_workers_per_gather"], srv["max_parallel_maintenance_workers"], srv["jit"],
                 srv["fsync"], srv["huge_pages"], srv["min_dynamic_shared_memory"], srv["vecsearch.simd"],
                 machine["vecsearch_commit"]),
             "Libraries: FAISS %s (Debian python3-faiss, a generic build), hnswlib %s, numpy %s, Python %s." % (
                 machine["faiss"], machine["hnswlib"], machine["numpy"], machine["python"]), "",
             ("PostgreSQL queries: server-side prepared `SELECT id FROM t ORDER BY embedding <op> $1 LIMIT 10` "
             "over TCP loopback, one client, one query at a time, one untimed pass over the queries per index "
             "(at its widest setting) and 20 warm-up queries per setting%s, table and index "
             "prewarmed, vectors in the heap row (STORAGE PLAIN). Library searches: one query at a time "
             "on one thread; library builds on 2 threads. Recall@10 against exact ground truth, with "
             "distance ties counted as hits (ann-benchmarks' rule). pgvector rows are pgvector measured in "
             "this run, on this server, by this client (scripts/pgvector.sh builds it; every ratio below "
             "is between methods of this run). `(anchor)` rows are pgvector 0.8.6's figures from "
             "another harness on this machine type (VS_ANCHORS), shown for reference, never divided by.")
             % repeats_text, ""]
    lines += sections
    with open(os.path.join(args.out, "README.md"), "w") as f:
        f.write("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
