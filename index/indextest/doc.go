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
// The suite calls the factory once per case (about sixty of them), runs the
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
