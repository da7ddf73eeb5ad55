"""The data sets: real ones (Fashion-MNIST from Debian, SIFT10K shipped in test/bench/data,
GloVe-100 from a folder a variable names) and the deterministic synthetic generator. Each loads as base, queries, metric, ground truth
(exact top-100 ids, 0-based) and the index parameters used for it."""
import os

import numpy as np

from . import synthetic
from .metrics import exact_ground_truth

HERE = os.path.dirname(os.path.abspath(__file__))
# Shipped with the repository: what the smoke test needs.
REPO_DATA = os.path.normpath(os.path.join(HERE, "..", "data"))
# Optional, for the full benchmark only: prepared copies of larger sets (GloVe-100), and on
# the project's own machines pgvector's reference figures, in a folder beside the checkout.
EXTRA_ROOT = os.environ.get("VS_SHARED", os.path.normpath(os.path.join(HERE, "..", "..", "..", "..", "shared")))
SHARED = os.environ.get("VS_SHARED_DATA", os.path.join(EXTRA_ROOT, "data"))
FASHION = os.environ.get("FASHION_MNIST_DIR", "/usr/share/datasets/fashion-mnist")

# Index parameters per data set: ivf lists as in the pgvector anchors (rows / 1000, at least
# sqrt-ish for the small sets), hnsw m = 16 / ef_construction = 64, PQ subvectors dividing dim
# (GloVe-100: 25, ivfpq's default of a quarter of the dimension; at 50 the codes alone are
# an eighth of the vectors, so no index of them can be 8x smaller than ivf's).
PARAMS = {
    "fashion-mnist": {"metric": "l2", "lists": 60, "m": 16, "ef_construction": 64, "subvectors": 56},
    "glove-100": {"metric": "cosine", "lists": 200, "m": 16, "ef_construction": 64, "subvectors": 25},
    "sift-10k": {"metric": "l2", "lists": 100, "m": 16, "ef_construction": 64, "subvectors": 32},
    "synthetic-1m-128": {"metric": "l2", "lists": 1000, "m": 16, "ef_construction": 64, "subvectors": 32,
                         "exact_queries": 30},
    "synthetic-1m-384": {"metric": "l2", "lists": 1000, "m": 16, "ef_construction": 64, "subvectors": 48,
                         "exact_queries": 20},
}

NAMES = list(PARAMS)


def _fvecs_set(root, folder):
    path = os.path.join(root, folder)
    if not os.path.isdir(path):
        raise SystemExit("data set folder %s not found: set VS_SHARED_DATA to the folder that holds "
                         "%s (test/bench/DATASETS.md says how to prepare it)" % (path, folder))
    base = synthetic.read_fvecs(os.path.join(path, "base.fvecs"))
    queries = synthetic.read_fvecs(os.path.join(path, "query.fvecs"))
    gt = synthetic.read_ivecs(os.path.join(path, "groundtruth.ivecs"))
    return base, queries, gt, os.path.join(path, "README.md")


def load(name, n_queries=None):
    """Returns a dict: name, base, queries, gt, metric, params, source."""
    p = dict(PARAMS[name])
    if name == "fashion-mnist":
        base = synthetic.read_idx_images(os.path.join(FASHION, "train-images-idx3-ubyte.gz"))
        queries = synthetic.read_idx_images(os.path.join(FASHION, "t10k-images-idx3-ubyte.gz"))[:1000]
        gt, source = None, "Debian dataset-fashion-mnist: 60,000 train (base), first 1,000 test (queries)"
    elif name == "glove-100":
        base, queries, gt, source = _fvecs_set(SHARED, "glove-100-angular")
    elif name == "sift-10k":
        base, queries, gt, source = _fvecs_set(REPO_DATA, "sift-10k-euclidean")
    elif name.startswith("synthetic-1m-"):
        dim = int(name.rsplit("-", 1)[1])
        base, queries = synthetic.generate(1_000_000, dim, seed=1234, n_queries=1000, metric=p["metric"])
        gt, source = None, "vsbench.synthetic.generate(1000000, %d, seed=1234)" % dim
    else:
        raise KeyError(name)
    if n_queries is not None:
        queries = queries[:n_queries]
        gt = gt[:n_queries] if gt is not None else None
    if gt is None:
        gt = exact_ground_truth(base, queries, p["metric"], k=100)
    base = np.ascontiguousarray(base, dtype=np.float32)
    queries = np.ascontiguousarray(queries, dtype=np.float32)
    return {"name": name, "base": base, "queries": queries, "gt": gt, "metric": p["metric"],
            "params": p, "source": source}


def subset(ds, n_base):
    """The first n_base rows with ground truth recomputed (for smoke tests)."""
    base = ds["base"][:n_base]
    gt = exact_ground_truth(base, ds["queries"], ds["metric"], k=100)
    return {**ds, "name": ds["name"] + "-%d" % n_base, "base": base, "gt": gt}
