"""What the suite measures: each method's build and the search parameter it sweeps.

vecsearch's index methods are listed here from the start; a method whose access method does
not exist in the server yet is reported as skipped, so each index issue only adds results.
Parameters follow pgvector's reference figures on this machine type (the anchors) where
those exist, and FAISS's names where they do not.
"""

NPROBE = [1, 2, 4, 8, 16, 32, 64]
EF_SEARCH = [10, 16, 20, 30, 40, 60, 80, 100, 120, 160, 200, 400]
RERANK = [0, 10, 40, 100]
K_FACTOR = [1, 2, 4, 10]


def pg_methods(ds):
    """PostgreSQL methods for a data set (dict with lists, m, ef_construction, subvectors, and
    optionally its own nprobe sweep)."""
    NPROBE = ds.get("nprobe", globals()["NPROBE"])  # noqa: N806
    return [
        {"name": "vecsearch-exact", "kind": "pg", "am": None, "ddl": None,
         "sweep": [{}], "guc": {}, "max_queries": ds.get("exact_queries", 100)},
        {"name": "vecsearch-ivf", "kind": "pg", "am": "ivf",
         "ddl": "USING ivf (embedding {opclass}) WITH (lists = %d)" % ds["lists"],
         "sweep": [{"vecsearch.nprobe": p} for p in NPROBE if p <= ds["lists"]]},
        {"name": "vecsearch-hnsw", "kind": "pg", "am": "hnsw",
         "ddl": "USING hnsw (embedding {opclass}) WITH (m = %d, ef_construction = %d)"
                % (ds["m"], ds["ef_construction"]),
         "sweep": [{"vecsearch.ef_search": e} for e in EF_SEARCH]},
        {"name": "vecsearch-ivfpq", "kind": "pg", "am": "ivfpq",
         "ddl": "USING ivfpq (embedding {opclass}) WITH (lists = %d, subvectors = %d, bits = 8)"
                % (ds["lists"], ds["subvectors"]),
         "sweep": [{"vecsearch.nprobe": p, "vecsearch.rerank": r}
                   for p in NPROBE if p <= ds["lists"] for r in RERANK]},
    ] + pgvector_methods(ds)


def pgvector_methods(ds):
    """pgvector at the same parameters and sweeps, in a database of its own (both extensions
    define the type `vector`); measured only where scripts/pgvector.sh installed it."""
    NPROBE = ds.get("nprobe", globals()["NPROBE"])  # noqa: N806
    return [
        {"name": "pgvector-ivfflat", "kind": "pg", "extension": "pgvector", "am": "ivfflat",
         "ddl": "USING ivfflat (embedding {opclass}) WITH (lists = %d)" % ds["lists"],
         "sweep": [{"ivfflat.probes": p} for p in NPROBE if p <= ds["lists"]]},
        {"name": "pgvector-hnsw", "kind": "pg", "extension": "pgvector", "am": "hnsw",
         "ddl": "USING hnsw (embedding {opclass}) WITH (m = %d, ef_construction = %d)"
                % (ds["m"], ds["ef_construction"]),
         "sweep": [{"hnsw.ef_search": e} for e in EF_SEARCH]},
    ]


def library_methods(ds):
    """FAISS and hnswlib at the same parameters."""
    NPROBE = ds.get("nprobe", globals()["NPROBE"])  # noqa: N806
    ivf = {"lists": ds["lists"]}
    hnsw = {"m": ds["m"], "ef_construction": ds["ef_construction"]}
    pq = {"lists": ds["lists"], "subvectors": ds["subvectors"], "bits": 8}
    return [
        {"name": "faiss-flat", "kind": "faiss", "family": "flat", "params": {}, "sweep": [{}]},
        {"name": "faiss-ivfflat", "kind": "faiss", "family": "ivfflat", "params": ivf,
         "sweep": [{"nprobe": p} for p in NPROBE if p <= ds["lists"]]},
        {"name": "faiss-hnsw", "kind": "faiss", "family": "hnsw", "params": hnsw,
         "sweep": [{"ef_search": e} for e in EF_SEARCH]},
        {"name": "hnswlib", "kind": "hnswlib", "params": hnsw,
         "sweep": [{"ef_search": e} for e in EF_SEARCH]},
        {"name": "faiss-ivfpq", "kind": "faiss", "family": "ivfpq", "params": pq,
         "sweep": [{"nprobe": p} for p in NPROBE if p <= ds["lists"]]},
        {"name": "faiss-ivfpq-refine", "kind": "faiss", "family": "ivfpq_refine", "params": pq,
         "sweep": [{"nprobe": p, "k_factor": f} for p in NPROBE if p <= ds["lists"] for f in K_FACTOR]},
    ]


def quick_sweeps(method):
    """A smoke-test subset: the ends and the middle of each sweep."""
    s = method["sweep"]
    if len(s) <= 3:
        return method
    keep = [s[0], s[len(s) // 2], s[-1]]
    return {**method, "sweep": keep}
