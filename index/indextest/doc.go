// Package indextest is the conformance suite for [index.VectorStore]
// implementations. Every store in Shoal — index/memory, backends/pinecone,
// backends/milvus — runs it, and so should any store written outside Shoal:
// code written against VectorStore then behaves the same on all of them.
//
// A store's test hands [Run] a factory that returns a fresh store for a
// [Config] (dimension and metric):
//
//	func TestConformance(t *testing.T) {
//		indextest.Run(t, func(t *testing.T, cfg indextest.Config) index.VectorStore {
//			s, err := memory.New(memory.WithMetric(cfg.Metric))
//			if err != nil {
//				t.Fatal(err)
//			}
//			t.Cleanup(func() { s.Close() }) // and remove files, stop servers...
//			return s
//		})
//	}
//
// The suite calls the factory once per case (about sixty-five of them), runs the
// cases as parallel subtests of a subtest named "indextest", and returns when
// all of them have finished, so resources the calling test releases with
// defer outlive the cases. The factory must return a new store value on each
// call (the suite closes it), but the values may share one backing service or
// server: every case writes into namespaces of its own, named after the case
// and a token unique to the run, made only of [a-z0-9_]. The one exception is
// the case for the default namespace "", which isolates its records by unique
// IDs and a metadata marker and deletes them when it ends.
//
// Cases check the whole [index.VectorStore] contract: round trips of vectors
// and every metadata type, overwrite semantics, exact scores for every
// [index.Metric], every filter operator with the edge rules written on
// [index.Filter], namespace isolation, Fetch, Delete and Scan semantics,
// validation (each kind of bad record, with nothing of the batch written),
// cancelled contexts, Close, concurrent readers and writers, a large
// [index.UpsertAll], and the optional [index.Counter] and [index.Namespacer]
// interfaces when a store implements them. Select cases with -run, e.g.
// -run 'TestConformance/indextest/Filter'.
//
// # Approximate stores
//
// By default the suite expects an exact store: every Query returns the true
// TopK. A store that answers from an approximate index (a graph such as
// HNSW) declares it with [WithRecall] and a target recall@10:
//
//	indextest.Run(t, newStore, indextest.WithRecall(0.95))
//
// Recall mode relaxes only what an approximate index cannot promise: the
// rankings of unfiltered queries into large namespaces (the cases Recall,
// QueryMatchesBruteForce and LargeBatch), where it demands a mean recall@10
// of at least the target instead of the exact top. Everything else stays
// exact: each match's score equals the exact score of the record's current
// vector, matches come best first with unique IDs, no deleted record is ever
// returned, filtered queries, Fetch, Scan, Delete, validation, and the
// rankings and ties of the other cases, whose namespaces are small.
//
// The case Recall runs in both modes (an exact store must reach recall 1).
// Under each metric it writes a clustered set of 32-d records in gaussian
// clusters, seeded ([DefaultRecallSize] of them in recall mode,
// [DefaultExactRecallSize] in exact mode, or as many as [WithRecallSize]
// says), queries 100 held-out vectors for their 10
// nearest records and compares them with the true ones computed by brute
// force, three times: as written, after deleting a third of the records,
// and after upserting 20 records again with new vectors (each must be found
// at its new place). It logs the recall it measures in each phase.
//
// The suite expects read-after-write consistency: a record is visible to
// Fetch, Query and Scan as soon as Upsert returns. Run it against a store's
// in-process fake rather than an eventually consistent service.
//
// Data is deterministic (seeded math/rand/v2). Scores are compared with a
// tolerance of [ScoreTolerance]; under [index.Cosine] a store may return unit
// vectors from Fetch, Query and Scan, as the contract allows. Numbers in
// metadata are compared by value, since a remote store may return an int64
// as a float64.
//
// The helpers [RandomRecords], [RandomVectors], [Score], [MetadataEqual] and
// [ScanAll] are exported for a backend's own tests.
package indextest
