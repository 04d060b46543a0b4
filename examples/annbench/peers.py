# peers.py: the hnswlib and faiss side of examples/annbench.
#
# Reads a JSON spec on stdin (files of little-endian float32 rows, the ground
# truth as int32 rows, and the tasks), runs every task on one thread unless a
# task says otherwise, and writes one JSON object with the results on stdout.
# Progress goes to stderr. Recall@k is computed as the Go side computes it:
# the mean over queries of |returned ∩ true top k| / k.
import json
import sys
import time

import numpy as np


def log(*a):
    print("peers:", *a, file=sys.stderr, flush=True)


def load(path, rows, dim, dtype="<f4"):
    return np.ascontiguousarray(np.fromfile(path, dtype=dtype).reshape(rows, dim))


def recall(found, gt, k):
    hits = 0
    for f, g in zip(found, gt):
        hits += len(np.intersect1d(f[:k], g[:k]))
    return hits / (len(gt) * k)


def hnswlib_task(t, base, queries, gt, spec):
    import hnswlib

    p = hnswlib.Index(space=t["space"], dim=base.shape[1])
    p.init_index(max_elements=base.shape[0], ef_construction=spec["efc"], M=spec["m"], random_seed=100)
    p.set_num_threads(1)
    start = time.perf_counter()
    p.add_items(base, np.arange(base.shape[0]), num_threads=1)
    build = time.perf_counter() - start
    log("hnswlib", t["space"], "built in %.1fs" % build)
    sweep = []
    for ef in spec["efs"]:
        p.set_ef(ef)
        start = time.perf_counter()
        labels, _ = p.knn_query(queries, k=spec["k"], num_threads=1)
        secs = time.perf_counter() - start
        sweep.append({"ef": ef, "recall": recall(labels, gt, spec["k"]), "qps": len(queries) / secs})
    return {"build_s": build, "sweep": sweep}


def faiss_hnsw_task(t, base, queries, gt, spec):
    import faiss

    faiss.omp_set_num_threads(1)
    if t["space"] == "cosine":
        base, queries = base.copy(), queries.copy()
        faiss.normalize_L2(base)
        faiss.normalize_L2(queries)
        index = faiss.IndexHNSWFlat(base.shape[1], spec["m"], faiss.METRIC_INNER_PRODUCT)
    else:
        index = faiss.IndexHNSWFlat(base.shape[1], spec["m"])
    index.hnsw.efConstruction = spec["efc"]
    start = time.perf_counter()
    index.add(base)
    build = time.perf_counter() - start
    log("faiss HNSW", t["space"], "built in %.1fs" % build)
    sweep = []
    for ef in spec["efs"]:
        index.hnsw.efSearch = ef
        start = time.perf_counter()
        _, labels = index.search(queries, spec["k"])
        secs = time.perf_counter() - start
        sweep.append({"ef": ef, "recall": recall(labels, gt, spec["k"]), "qps": len(queries) / secs})
    return {"build_s": build, "sweep": sweep}


def faiss_flat_task(t, base, queries, gt, spec):
    import faiss

    index = faiss.IndexFlatL2(base.shape[1])
    index.add(base)
    k = spec["k"]
    out = {}
    faiss.omp_set_num_threads(1)
    single = queries[: t["single"]]
    start = time.perf_counter()
    for i in range(len(single)):
        index.search(single[i : i + 1], k)
    out["single_qps"] = len(single) / (time.perf_counter() - start)
    out["batched_qps"] = {}
    for threads in t["threads"]:
        faiss.omp_set_num_threads(threads)
        best = float("inf")
        for _ in range(3):  # the best of three: OpenMP on a busy machine is noisy
            start = time.perf_counter()
            _, labels = index.search(queries, k)
            best = min(best, time.perf_counter() - start)
        out["batched_qps"][str(threads)] = len(queries) / best
        out["recall"] = recall(labels, gt, k)
    faiss.omp_set_num_threads(1)
    log("faiss IndexFlatL2 done")
    return out


def main():
    spec = json.load(sys.stdin)
    n, nq, dim, k = spec["n"], spec["nq"], spec["dim"], spec["k"]
    base = load(spec["base"], n, dim)
    queries = load(spec["queries"], nq, dim)
    results = []
    for t in spec["tasks"]:
        gt = load(t["gt"], nq, k, "<i4")
        run = {"hnswlib": hnswlib_task, "faiss_hnsw": faiss_hnsw_task, "faiss_flat": faiss_flat_task}[t["engine"]]
        r = run(t, base, queries, gt, spec)
        r["engine"], r["space"] = t["engine"], t.get("space", "l2")
        results.append(r)
    json.dump({"results": results}, sys.stdout)


if __name__ == "__main__":
    main()
