#!/usr/bin/python3
"""QPS at equal recall@10 from bench results.jsonl files: old/new pairs (ab.sh), log-linear
interpolation between the two settings that bracket each recall."""
import json, math, sys, glob, os

def load(d):
    rows = {}
    builds = {}
    commit = None
    for line in open(os.path.join(d, "results.jsonl")):
        r = json.loads(line)
        if r.get("type") == "run":
            commit = r.get("vecsearch_commit")
        if r.get("type") == "search" and r.get("method") == "vecsearch-hnsw":
            rows.setdefault(r["dataset"], []).append((r["recall10"], r["qps"]))
        if r.get("type") == "build" and r.get("method") == "vecsearch-hnsw":
            builds[r["dataset"]] = r["build_s"]
    return commit, rows, builds

def qps_at(points, target):
    pts = sorted(points)
    for (r1, q1), (r2, q2) in zip(pts, pts[1:]):
        if r1 <= target <= r2 and r2 > r1:
            t = (target - r1) / (r2 - r1)
            return math.exp(math.log(q1) + t * (math.log(q2) - math.log(q1)))
    return None

targets = {"fashion-mnist": [0.95, 0.97, 0.99, 0.995, 0.999], "glove-100": [0.80, 0.90, 0.95, 0.97, 0.99]}
runs = sorted(glob.glob(sys.argv[1] + "/*-[0-9]"))
data = {os.path.basename(r): load(r) for r in runs}
for ds, ts in targets.items():
    print("\n%s: QPS at recall@10 (build s)" % ds)
    print("| run | commit | build s | " + " | ".join("%.3f" % t for t in ts) + " |")
    print("|---|---|---|" + "---|" * len(ts))
    for name, (commit, rows, builds) in data.items():
        cells = []
        for t in ts:
            q = qps_at(rows.get(ds, []), t)
            cells.append("%.0f" % q if q else "-")
        print("| %s | %s | %.2f | %s |" % (name, commit, builds.get(ds, float('nan')), " | ".join(cells)))
    # ratio new/old of means
    print("| new/old (mean of runs) | | | ", end="")
    out = []
    for t in ts:
        n = [qps_at(rows.get(ds, []), t) for name, (c, rows, b) in data.items() if name.startswith("new")]
        o = [qps_at(rows.get(ds, []), t) for name, (c, rows, b) in data.items() if name.startswith("old")]
        if all(n) and all(o) and n and o:
            out.append("%.2f" % ((sum(n) / len(n)) / (sum(o) / len(o))))
        else:
            out.append("-")
    print(" | ".join(out) + " |")
