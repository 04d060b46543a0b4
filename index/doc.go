// Package index defines how Shoal stores and finds vectors: [Record],
// [Metadata], [Filter], [Query], [Match], the [VectorStore] interface that
// every store implements, and [UpsertAll], which writes a stream of records
// in parallel batches with retries. [FromEmbedded] turns the output of
// embedding.EncodeAll into records (with each input's metadata), and
// UpsertAll takes the same batching options as EncodeAll (embedding.Option),
// so the common path reads:
//
//	embedded := embedding.EncodeAll(ctx, enc, inputs)
//	n, err := index.UpsertAll(ctx, store, enc.Info().Namespace(), index.FromEmbedded(embedded))
//
// Stores live elsewhere: index/memory is the embedded default (in memory or
// persistent on a directory); backends/pinecone and backends/milvus are
// remote. All of them pass the conformance suite in index/indextest, so code
// written against VectorStore runs on any of them unchanged.
//
// Optional abilities are separate interfaces checked with a type assertion,
// as database/sql/driver does: [Metricer] (the store's metric, which
// search, feedback and search/look use by default), [Namespacer],
// [Counter]. Helpers such as [Count] and [StoreMetric] fall back when a
// store lacks one.
//
// What a store's implementer needs and its users do not — the checks every
// store runs first (context, namespace, records, queries), Temporary,
// ContextError — lives in package index/driver, as database/sql/driver and
// gocloud.dev/blob/driver split theirs; index/indextest is the conformance
// suite every store passes.
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
