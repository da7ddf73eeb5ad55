"""In-process libraries on the same vectors: FAISS (Debian's python3-faiss) and hnswlib.

Builds may use every core (as PostgreSQL's leader + worker do); searches run one query at a
time on one thread, so per-query latency and QPS compare with one PostgreSQL client.
For cosine, vectors are L2-normalised and searched by inner product, which ranks the same.
"""
import time

import numpy as np

from .metrics import fastest_pass, normalized


def _prepare(base, queries, metric):
    b = np.ascontiguousarray(base, dtype=np.float32)
    q = np.ascontiguousarray(queries, dtype=np.float32)
    if metric == "cosine":
        b, q = normalized(b), normalized(q)
    return b, q


def _faiss_metric(metric):
    import faiss
    return faiss.METRIC_L2 if metric == "l2" else faiss.METRIC_INNER_PRODUCT


def _timed_search(search_one, queries, warmup=20):
    for q in queries[:warmup]:
        search_one(q)
    found, lat = [], []
    for q in queries:
        t0 = time.perf_counter()
        ids = search_one(q)
        lat.append(time.perf_counter() - t0)
        found.append([int(i) for i in ids if i >= 0])
    return found, np.array(lat)


class FaissIndex:
    """One FAISS index family: flat, ivfflat, hnsw, ivfpq, ivfpq+refine."""

    def __init__(self, kind, params, metric, build_threads=2):
        self.kind, self.params, self.metric = kind, params, metric
        self.build_threads = build_threads

    def build(self, base):
        import faiss
        faiss.omp_set_num_threads(self.build_threads)
        d = base.shape[1]
        m = _faiss_metric(self.metric)
        p = self.params
        if self.kind == "flat":
            index = faiss.IndexFlat(d, m)
        elif self.kind == "ivfflat":
            index = faiss.IndexIVFFlat(faiss.IndexFlat(d, m), d, p["lists"], m)
        elif self.kind == "hnsw":
            index = faiss.IndexHNSWFlat(d, p["m"], m)
            index.hnsw.efConstruction = p["ef_construction"]
        elif self.kind in ("ivfpq", "ivfpq_refine"):
            index = faiss.IndexIVFPQ(faiss.IndexFlat(d, m), d, p["lists"], p["subvectors"], p.get("bits", 8), m)
            trained = _TRAINED_PQ.get(_pq_key(base, p, self.metric))
            if trained is not None:
                # the same training as the plain IVFPQ run: copy it instead of training twice
                # (the build time reported is then add + refine only, and says so)
                index = faiss.clone_index(trained)
                self.reused_training = True
            if self.kind == "ivfpq_refine":
                self.ivf = index        # the refine wrapper hides nprobe; keep the inner index
                index = faiss.IndexRefineFlat(index)
        else:
            raise ValueError(self.kind)
        t0 = time.perf_counter()
        if not index.is_trained:
            index.train(base)
            if self.kind == "ivfpq":
                _TRAINED_PQ[_pq_key(base, p, self.metric)] = faiss.clone_index(index)
        index.add(base)
        self.build_s = time.perf_counter() - t0
        self.index = index
        faiss.omp_set_num_threads(1)
        out = {"build_s": self.build_s, "index_bytes": _faiss_size(index)}
        if getattr(self, "reused_training", False):
            out["note"] = "training reused from faiss-ivfpq; build_s is add + refine only"
        return out

    def set(self, setting):
        import faiss
        idx = self.index
        if "nprobe" in setting:
            ivf = getattr(self, "ivf", None) or faiss.extract_index_ivf(idx)
            ivf.nprobe = setting["nprobe"]
        if "ef_search" in setting:
            idx.hnsw.efSearch = setting["ef_search"]
        if "k_factor" in setting:
            idx.k_factor = setting["k_factor"]

    def search(self, queries, k):
        import faiss
        faiss.omp_set_num_threads(1)
        idx = self.index

        def one(q):
            _, ids = idx.search(q.reshape(1, -1), k)
            return ids[0]
        return _timed_search(one, queries)


# Trained (empty) IVFPQ indexes by data set and parameters, so IVFPQ + refine reuses training.
_TRAINED_PQ = {}


def _pq_key(base, params, metric):
    return (base.shape, float(base[0, 0]), float(base[-1, -1]), tuple(sorted(params.items())), metric)


def _faiss_size(index):
    import faiss
    return len(faiss.serialize_index(index))


class HnswlibIndex:
    def __init__(self, params, metric, build_threads=2):
        self.params, self.metric, self.build_threads = params, metric, build_threads

    def build(self, base):
        import hnswlib
        space = {"l2": "l2", "cosine": "ip", "ip": "ip"}[self.metric]
        idx = hnswlib.Index(space=space, dim=base.shape[1])
        t0 = time.perf_counter()
        idx.init_index(max_elements=base.shape[0], ef_construction=self.params["ef_construction"],
                       M=self.params["m"], random_seed=100)
        idx.add_items(base, np.arange(base.shape[0]), num_threads=self.build_threads)
        self.build_s = time.perf_counter() - t0
        self.index = idx
        # hnswlib does not report its size; count what its graph and vectors hold
        n, d, m = base.shape[0], base.shape[1], self.params["m"]
        size = n * (4 * d + 8 + 4 + 2 * m * 4)
        return {"build_s": self.build_s, "index_bytes": size, "index_bytes_estimated": True}

    def set(self, setting):
        self.index.set_ef(setting["ef_search"])

    def search(self, queries, k):
        idx = self.index
        idx.set_num_threads(1)

        def one(q):
            labels, _ = idx.knn_query(q, k=k, num_threads=1)
            return labels[0]
        return _timed_search(one, queries)


def _reset_peak_rss():
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        return None
    return _rss("VmRSS:")


def _rss(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field):
                return int(line.split()[1]) * 1024
    return None


def run_library(make_index, base, queries, metric, sweep, k, evaluate, repeats=1):
    """Builds once, then one result per setting of the sweep, the fastest of `repeats` timed
    passes; `evaluate` turns ids into recall. The build's peak memory is this process's peak
    RSS during the build minus its RSS before."""
    b, q = _prepare(base, queries, metric)
    index = make_index()
    before = _reset_peak_rss()
    build = index.build(b)
    if before is not None:
        build["build_peak_rss_bytes"] = _rss("VmHWM:") - before
    results = []
    for setting in sweep:
        index.set(setting)
        passes = [index.search(q, k) for _ in range(repeats)]
        results.append({"setting": setting, **evaluate(passes[0][0]),
                        **fastest_pass([lat for _, lat in passes])})
    return build, results
