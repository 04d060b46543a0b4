# The scikit-learn peer of feedbackbench: the same protocol (pools,
# buckets, k, rounds) with sklearn's LogisticRegression(class_weight=
# "balanced") as the reranker. Round 0, and any round before a
# not-relevant mark exists, ranks by cosine similarity to the mean of the
# bucket, as Shoal's round 0 does. Ties go to the smaller index (the
# smaller ID). Reads the spec (JSON) named by argv[1], writes JSON results
# to stdout.
import json
import sys
import time

import numpy as np
from sklearn.linear_model import LogisticRegression

spec = json.load(open(sys.argv[1]))
n, dim = spec["n"], spec["dim"]
x = np.fromfile(spec["vectors"], dtype="<f4").reshape(n, dim).astype(np.float64)
x /= np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
labels = np.fromfile(spec["labels"], dtype="<i4")
k, rounds = spec["k"], spec["rounds"]
out = []
for task in spec["tasks"]:
    target = spec["classes"].index(task["class"])
    excluded = np.zeros(n, dtype=bool)
    excluded[task["dropped"]] = True
    bucket = np.array(task["bucket"])
    excluded[bucket] = True
    q = x[bucket].mean(axis=0)
    q /= np.linalg.norm(q)
    pos, neg = list(bucket), []
    prec, secs = [], []
    for r in range(rounds + 1):
        t0 = time.perf_counter()
        if neg and pos:
            clf = LogisticRegression(class_weight="balanced", max_iter=1000)
            xs = x[pos + neg]
            ys = np.r_[np.ones(len(pos)), np.zeros(len(neg))]
            clf.fit(xs, ys)
            score = clf.decision_function(x)
        else:
            score = x @ q
        score[excluded] = -np.inf
        top = np.lexsort((np.arange(n), -score))[:k]
        if r > 0:
            secs.append(time.perf_counter() - t0)
        rel = labels[top] == target
        prec.append(float(rel.sum()) / k)
        excluded[top] = True
        pos += [int(i) for i in top[rel]]
        neg += [int(i) for i in top[~rel]]
    out.append({"class": task["class"], "seed": task["seed"], "precision": prec, "seconds": secs})
json.dump(out, sys.stdout)
