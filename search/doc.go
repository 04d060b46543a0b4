// Package search finds the items of a vector store that look like a bucket
// of examples: "more like these, less like those". It is the query side of
// data curation: a [Bucket] holds positive and negative [Example]s, given by
// the ID of a stored record, by a vector, or by a raw input that the
// Searcher's encoder embeds; a [Searcher] turns it into store queries and
// returns ranked [Result]s, leaving out what the user has already seen.
//
// A Searcher uses only the public [index.VectorStore] interface (Fetch and
// Query), so the same code runs on the embedded index/memory store and on
// the Pinecone and Milvus backends.
//
//	s, err := search.New(store, "pool", search.WithEncoder(enc), search.WithTopK(50))
//	res, err := s.Search(ctx, search.Bucket{
//		Positives: []search.Example{search.ByID("img-17"), search.ByInput(embedding.Input{Text: "a red boot"})},
//		Negatives: []search.Example{search.ByID("img-3")},
//	}, search.WithAggregation(search.Max), search.WithExclude(seen...))
//
// # Options
//
// There is one [Option] type. Options given to [New] set the Searcher's
// defaults; the same options given to [Searcher.Search] override them for
// that call only ([WithExclude] adds to New's exclusions). [WithEncoder]
// and [WithMetric] describe the namespace and apply to New only; given to
// Search they are an error. Every option checks its value when applied and
// documents its default.
//
// # Metric
//
// A Searcher scores with the store's own metric: New asks the store through
// [index.StoreMetric] (every store of this module implements
// [index.Metricer]). [WithMetric] is needed only for a store that does not
// report its metric, which is otherwise assumed to be index.Cosine; a
// WithMetric that contradicts the store's metric is an error naming both.
//
// # Aggregations
//
// [Mean] searches once with the mean of the positives, moved away from the
// mean of the negatives (Rocchio). [Max] queries once per positive and
// scores each item by its best similarity to a positive; [RRF] fuses the
// per-positive lists by reciprocal rank. Mean is the cheapest and suits a
// compact bucket; Max and RRF suit a bucket whose positives come from
// several clusters, where the mean may fall between them.
//
// # Negatives
//
// Negatives push results away in every mode, with the weight w of
// [WithNegativeWeight] (0.5 by default; 0 ignores them). Mean moves its
// query away from the negatives' mean. Max and RRF fetch the candidates'
// vectors (Query.IncludeVectors) and re-score them locally under the
// Searcher's metric: an item's penalty is w times its similarity to the
// nearest negative; Max subtracts it from the item's best similarity to a
// positive, RRF from its similarity to each list's positive before ranking
// the list. With one positive and one negative, Mean and Max rank alike
// under Cosine and Euclidean; under DotProduct only when the two have the
// same norm (unit vectors, say), since Mean normalises the examples and Max
// does not. Re-scoring reorders the gathered candidates only;
// [WithCandidates] sets how deep each query gathers (3 × TopK by default
// when there are negatives).
//
// # Exclusion
//
// [WithExclude] lists IDs that must never be returned, and by default the
// IDs the bucket names are left out too ([WithIncludeBucket]). Exclusion is exact:
// each query asks for the wanted count plus the number of excluded IDs
// (capped at index.MaxTopK), and should a full page still hold too few
// unseen items, asks again for twice as many until it has enough, the
// namespace (under the filter) is exhausted, or index.MaxTopK is reached.
// The one limit: a store query reaches at most index.MaxTopK items deep, so
// when more than MaxTopK − TopK excluded items rank ahead of the TopK-th
// unseen one, Search returns fewer than TopK results, with no error. For
// very large seen sets, mark seen records in metadata and filter them out
// with [WithFilter] (for example index.Ne("seen", true)).
//
// # Determinism
//
// Results are unique by ID, sorted by score, best first, with ties broken
// by ID, so the same store contents and bucket give the same results.
//
// # Errors
//
// Error texts name the package once, then the item and the reason
// ("search: WithTopK: 0 out of range [1, 10000]"); they wrap sentinels,
// so test them with errors.Is:
//   - [ErrInvalidBucket]: no positive, an example in none or several forms,
//     a bad ID or vector (also wrapping index.ErrInvalidID or
//     index.ErrInvalidVector), an ID both positive and negative, or a Mean
//     query that cancels out to the zero vector.
//   - [ErrNoEncoder]: an example given by input with no [WithEncoder].
//   - [ErrInvalidOption]: a bad option value, an option of New given to
//     Search, a WithMetric that contradicts the store's (also wrapping
//     index.ErrInvalidFilter for a bad filter, index.ErrInvalidID for a bad
//     excluded ID).
//   - index.ErrInvalidArgument: a nil context or store.
//   - index.ErrNotFound: a bucket ID missing from the namespace; the
//     message names every missing ID.
//   - index.ErrDimension: examples, encoder and namespace of different
//     dimensions; the message names the example.
//   - embedding errors (ErrBadOutput, ErrInvalidInput, ...) from encoding
//     the examples given by input, store errors from Fetch and Query, and
//     the context's error once it is done.
//
// ErrInvalidBucket, ErrNoEncoder and ErrInvalidOption all wrap
// index.ErrInvalidArgument, as does index.ErrDimension.
package search
