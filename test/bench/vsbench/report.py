"""Output: JSON lines for machines, Markdown for people, a recall/QPS plot per data set, and
pgvector's reference figures (the anchors file, ann_bench.ANCHORS) parsed to be shown beside them.
Ratios are only ever taken between methods measured in the same run: the anchors come from
another harness (another client, another round trip), so they are listed, never divided by."""
import json
import os
import re

from .metrics import qps_at_recall

ANCHOR_DATASETS = {"Fashion-MNIST": "fashion-mnist", "GloVe-100": "glove-100"}
TARGETS = [0.9, 0.95, 0.99]
# What each vecsearch method is compared with, all measured in the same run: pgvector (built by
# scripts/pgvector.sh) and the same algorithm in FAISS / hnswlib.
COUNTERPARTS = {
    "vecsearch-exact": ["faiss-flat"],
    "vecsearch-ivf": ["pgvector-ivfflat", "faiss-ivfflat"],
    "vecsearch-hnsw": ["pgvector-hnsw", "faiss-hnsw", "hnswlib"],
    "vecsearch-ivfpq": ["pgvector-ivfflat", "faiss-ivfpq-refine", "vecsearch-ivf"],
}


def read_anchors(path):
    """{dataset: {method: {"build": str, "points": [{setting, recall10, qps, p50_ms, p99_ms}]}}}"""
    if not os.path.exists(path):
        return {}
    out, ds, method = {}, None, None
    for line in open(path):
        m = re.match(r"## (\S+)", line)
        if m:
            ds = ANCHOR_DATASETS.get(m.group(1))
            continue
        m = re.match(r"\*\*(pgvector-\w+)\*\*.*?— (.*)$", line.strip())
        if m and ds:
            method = m.group(1)
            out.setdefault(ds, {})[method] = {"build": m.group(2), "points": []}
            continue
        m = re.match(r"\|\s*([\w.]+=\d+)\s*\|\s*([\d.]+)\s*\|\s*(\d+)\s*\|\s*([\d.]+)\s*\|\s*([\d.]+)\s*\|", line)
        if m and ds and method:
            out[ds][method]["points"].append({
                "setting": m.group(1), "recall10": float(m.group(2)), "qps": float(m.group(3)),
                "p50_ms": float(m.group(4)), "p99_ms": float(m.group(5))})
    return out


def write_jsonl(path, records):
    with open(path, "a") as f:
        for r in records:
            f.write(json.dumps(r, sort_keys=True) + "\n")


def _fmt_setting(s):
    return ", ".join("%s=%s" % (k.replace("vecsearch.", ""), v) for k, v in s.items()) or "-"


def _mb(b):
    return "%.1f MB" % (b / 1e6) if b is not None else "n/a"


def _workers(build):
    """Parallel workers of a build: as asked (--build-workers), threads of a library, or the server's."""
    if build.get("workers") is not None:
        return str(build["workers"])
    if build.get("build_threads"):
        return "%d threads" % build["build_threads"]
    return "server default" if build.get("ddl") and build["ddl"].startswith("USING") else "-"


def markdown(dataset_records, anchors, roundtrip, concurrency):
    """One data set's section: builds, the sweep table, ratios at recall targets."""
    lines = []
    builds = [r for r in dataset_records if r["type"] == "build"]
    points = [r for r in dataset_records if r["type"] == "search"]
    skipped = [r for r in dataset_records if r["type"] == "skipped"]
    ds = dataset_records[0]["dataset"]
    info = next(r for r in dataset_records if r["type"] == "dataset")
    lines.append("### %s\n" % ds)
    lines.append("%s; %d base vectors x %d dimensions, %d queries, metric %s.\n"
                 % (info["source"], info["n_base"], info["dim"], info["n_queries"], info["metric"]))
    if roundtrip:
        lines.append("Round trip of a trivial prepared query on the same connection: p50 %.3f ms, "
                     "p99 %.3f ms (included in every PostgreSQL figure below).\n"
                     % (roundtrip["p50_ms"], roundtrip["p99_ms"]))
    if info.get("load_s") is not None:
        lines.append("Loaded with binary COPY in %.1f s (then VACUUM ANALYZE); table %s.\n"
                     % (info["load_s"], _mb(info.get("table_bytes"))))
    lines.append("| method | build | workers | build s | index size | build peak memory | build shared memory |")
    lines.append("|---|---|---|---|---|---|---|")
    for b in builds:
        lines.append("| %s | %s | %s | %.2f | %s%s | %s | %s |" % (
            b["method"], "%s%s" % (b.get("ddl") or b.get("params") or "-",
                                   "; " + b["note"] if b.get("note") else ""),
            _workers(b), b["build_s"], _mb(b.get("index_bytes")),
            " (est.)" if b.get("index_bytes_estimated") else "", _mb(b.get("build_peak_rss_bytes")),
            _mb(b.get("build_peak_shm_bytes")) if b.get("build_peak_shm_bytes") else "-"))
    for s in skipped:
        lines.append("| %s | skipped: %s | | | | | |" % (s["method"], s["reason"]))
    lines.append("")
    lines.append("| method | setting | recall@1 | recall@10 | QPS | mean ms | p50 ms | p95 ms | p99 ms | queries |")
    lines.append("|---|---|---|---|---|---|---|---|---|---|")
    for p in points:
        lines.append("| %s | %s | %.4f | %.4f | %.0f | %.3f | %.3f | %.3f | %.3f | %d |" % (
            p["method"], _fmt_setting(p["setting"]), p["recall1"], p["recall10"], p["qps"],
            p["mean_ms"], p["p50_ms"], p["p95_ms"], p["p99_ms"], p["n_queries"]))
    for method, a in sorted(anchors.get(ds, {}).items()):
        for p in a["points"]:
            lines.append("| %s (anchor) | %s | | %.4f | %.0f | | %.3f | | %.3f | 1000 |" % (
                method, p["setting"], p["recall10"], p["qps"], p["p50_ms"], p["p99_ms"]))
    lines.append("")
    for c in concurrency:
        lines.append("%s with %d concurrent clients at %s: %.0f QPS (%d queries)." % (
            c["method"], c["clients"], _fmt_setting(c["setting"]), c["qps"], c["queries"]))
    if concurrency:
        lines.append("")
    lines += ratio_table(points)
    return "\n".join(lines) + "\n"


def ratio_table(points):
    """Best QPS at recall@10 >= each target, per method, and vecsearch / other ratios (same run)."""
    by_method = {}
    for p in points:
        by_method.setdefault(p["method"], []).append(p)
    lines = ["| method | " + " | ".join("QPS @ recall %.2f" % t for t in TARGETS) + " |",
             "|---|" + "---|" * len(TARGETS)]
    best = {m: [qps_at_recall(ps, t) for t in TARGETS] for m, ps in by_method.items()}
    for m, qs in best.items():
        lines.append("| %s | %s |" % (m, " | ".join("%.0f" % q if q else "not reached" for q in qs)))
    lines.append("")
    ratios = []
    for ours, others in COUNTERPARTS.items():
        for other in others:
            if ours in best and other in best:
                cells = ["%.3gx" % (a / b) if a and b else "-" for a, b in zip(best[ours], best[other])]
                ratios.append("| %s / %s | %s |" % (ours, other, " | ".join(cells)))
    if ratios:
        lines += ["| QPS ratio | " + " | ".join("@ %.2f" % t for t in TARGETS) + " |",
                  "|---|" + "---|" * len(TARGETS)] + ratios + [""]
    return lines


def pareto(points):
    """The settings no other setting beats on both recall and QPS (what ann-benchmarks plots)."""
    front, best_qps = [], -1.0
    for p in sorted(points, key=lambda p: (-p["recall10"], -p["qps"])):
        if p["qps"] > best_qps:
            front.append(p)
            best_qps = p["qps"]
    return sorted(front, key=lambda p: p["recall10"])


def plot(path, ds_name, points, anchors):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(8, 5.5))
    by_method = {}
    for p in points:
        by_method.setdefault(p["method"], []).append(p)
    for m, ps in sorted(by_method.items()):
        ps = pareto(ps)
        style = "-o" if m.startswith("vecsearch") else "--."
        ax.plot([p["recall10"] for p in ps], [p["qps"] for p in ps], style, label=m, markersize=4)
    for m, a in sorted(anchors.get(ds_name, {}).items()):
        ps = pareto(a["points"])
        ax.plot([p["recall10"] for p in ps], [p["qps"] for p in ps], ":s", label=m + " (anchor)",
                markersize=3)
    ax.set_yscale("log")
    ax.set_xlabel("recall@10")
    ax.set_ylabel("queries per second, one client (log)")
    ax.set_title("%s: recall vs. speed, Pareto front per method (up and right is better)" % ds_name, fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
