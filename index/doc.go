// Package index defines how Shoal stores and finds vectors: [Record],
// [Metadata], [Filter], [Query], [Match], the [VectorStore] interface that
// every store implements, and [UpsertAll], which writes a stream of records
// in parallel batches with retries.
//
// Stores live elsewhere: index/memory is the embedded default (in memory or
// persistent on a directory); backends/pinecone and backends/milvus are
// remote. All of them pass the conformance suite in index/indextest, so code
// written against VectorStore runs on any of them unchanged.
//
// Optional abilities are separate interfaces checked with a type assertion,
// as database/sql/driver does: [Namespacer], [Counter], [UpsertPreparer].
// Helpers such as [Count] and [UpsertAll] fall back to the core interface
// when a store lacks one.
//
// # Scores
//
// [Match].Score is larger for more similar vectors under every [Metric]:
// cosine similarity, dot product, or the negated squared Euclidean distance.
//
// # Errors
//
// Calls return errors wrapping the sentinels of this package —
// [ErrInvalidArgument] and its refinements ([ErrInvalidID],
// [ErrInvalidVector], [ErrDimension], [ErrInvalidMetadata],
// [ErrInvalidFilter]), [ErrNotFound], [ErrClosed], [ErrCorrupt],
// [ErrUnauthenticated], [ErrUnavailable], [ErrResourceExhausted] — and an
// [*ItemError] names the record a problem concerns. Test with errors.Is and
// errors.As. Transient failures report [IsRetryable]; UpsertAll retries them.
package index
