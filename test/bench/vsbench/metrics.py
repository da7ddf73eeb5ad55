"""Recall and latency figures, computed the way ann-benchmarks does.

Recall@k counts a returned row as correct when its true distance is within the k-th true
neighbour's distance (plus a relative epsilon of 1e-5, above float32 rounding of a distance and
far below the gap between neighbours), so that data sets with exact ties
(Fashion-MNIST has duplicate images) do not punish a correct answer that picked a
different member of a tie.
"""
import numpy as np

EPSILON = 1e-5


def true_distances(base, query, ids, metric):
    """Distances from `query` to base rows `ids`, in the metric's own order (smaller is nearer)."""
    ids = np.asarray(ids, dtype=np.int64)
    if len(ids) == 0:
        return np.zeros(0)
    rows = base[ids].astype(np.float64)
    q = query.astype(np.float64)
    if metric == "l2":
        return np.sqrt(((rows - q) ** 2).sum(axis=1))
    if metric == "ip":
        return -(rows @ q)
    if metric == "cosine":
        denom = np.linalg.norm(rows, axis=1) * np.linalg.norm(q)
        with np.errstate(invalid="ignore", divide="ignore"):
            return 1.0 - (rows @ q) / denom
    raise ValueError(metric)


def recall_at(base, queries, gt_ids, found, metric, k):
    """Mean recall@k over queries; found[i] is the list of ids returned for query i."""
    total = 0.0
    for i, ids in enumerate(found):
        kth = true_distances(base, queries[i], gt_ids[i][k - 1:k], metric)[0]
        got = true_distances(base, queries[i], ids[:k], metric)
        threshold = kth + EPSILON * max(abs(kth), 1e-4)
        total += min(k, int((got <= threshold).sum())) / k
    return total / len(found)


def latency_stats(lat_s):
    lat_ms = np.asarray(lat_s) * 1000.0
    return {"mean_ms": float(lat_ms.mean()), "p50_ms": float(np.percentile(lat_ms, 50)),
            "p95_ms": float(np.percentile(lat_ms, 95)), "p99_ms": float(np.percentile(lat_ms, 99)),
            "qps": float(len(lat_ms) / (lat_ms.sum() / 1000.0))}


def fastest_pass(passes):
    """latency_stats of the fastest of several timed passes over the same queries (ann-benchmarks
    reports the best of its runs: this machine's host takes bursts of time from it that slow a
    whole pass), with every pass's QPS in `qps_passes`."""
    best = min(passes, key=lambda lat: float(np.sum(lat)))
    stats = latency_stats(best)
    stats["qps_passes"] = [float(len(lat) / np.sum(lat)) for lat in passes]
    return stats


def qps_at_recall(points, target):
    """Best QPS among settings whose recall@10 reaches `target` (None if none does)."""
    ok = [p["qps"] for p in points if p["recall10"] >= target]
    return max(ok) if ok else None


def exact_ground_truth(base, queries, metric, k=100, distances=False):
    """Exact top-k ids with FAISS's flat index (BLAS, all threads); with `distances`, also
    FAISS's scores, smallest first (squared l2, or negated inner product)."""
    import faiss
    b = np.ascontiguousarray(base, dtype=np.float32)
    q = np.ascontiguousarray(queries, dtype=np.float32)
    if metric == "l2":
        index = faiss.IndexFlatL2(b.shape[1])
    else:
        index = faiss.IndexFlatIP(b.shape[1])
        if metric == "cosine":
            b = normalized(b)
            q = normalized(q)
    index.add(b)
    d, ids = index.search(q, k)
    if distances:
        return (d if metric == "l2" else -d), ids
    return ids


def normalized(x):
    n = np.linalg.norm(x, axis=1, keepdims=True)
    n[n == 0] = 1.0
    return (x / n).astype(np.float32)
