// Package milvus is an [index.VectorStore] on Milvus, the open-source
// distributed vector database, for teams that run their own vector database
// at scale. It uses the official Go SDK (github.com/milvus-io/milvus-sdk-go/v2)
// and keeps every SDK and protobuf type out of its API, so a switch to the
// SDK's successor stays inside this package.
//
// [Open] creates or opens one collection:
//
//	pk      VarChar primary key: base64url(namespace) "." base64url(id)
//	ns      VarChar partition key: the Shoal namespace
//	id      VarChar: the record's ID
//	vector  FloatVector of the store's dimension
//	md      JSON: the record's metadata
//
// with a vector index (AUTOINDEX by default; HNSW or IVF_FLAT with their
// parameters through [WithIndex]) scoring with the store's metric (COSINE,
// IP or L2), and loads it.
//
// # Namespaces
//
// Namespaces map onto a partition key, not onto partitions: Shoal
// namespaces are arbitrary UTF-8 strings and unbounded in number (one per
// model version, per experiment), while partition names are limited to
// letters, digits and '_' and a collection holds at most 1024 (by default)
// partitions, each created by an extra round trip. With a partition key
// Milvus hashes namespaces onto a fixed set of physical partitions and prunes
// them on "ns == ..." filters, which every read carries. Because the primary
// key is unique across the whole collection, it combines the namespace and
// the ID, so the same ID can live in two namespaces.
//
// # Scores
//
// Scores follow Shoal's convention (larger is more similar): Cosine is
// Milvus's COSINE similarity, DotProduct its IP, and Euclidean the negated
// squared distance (Milvus's L2 reports the squared distance).
//
// # Consistency
//
// Reads use Strong consistency by default: curation workflows read right
// after they write, and at weaker levels Milvus keeps returning deleted
// records for a while. [WithConsistency] trades that for latency.
//
// # Filters
//
// [TranslateFilter] turns an [index.Filter] into a Milvus boolean expression
// over the JSON field that selects exactly what [index.Filter.Match]
// selects; keys and strings are quoted with escapes, so no value or ID can
// end a literal or inject syntax. Metadata round-trips exactly: int64 and
// float64 keep their types (floats are written with a fraction).
//
// Milvus does not unescape a JSON key in an expression: it compares the
// key's text with the raw, escaped text of the stored key. Keys whose
// spelling could differ between the two — holding a control character other
// than newline, carriage return and tab, DEL, a non-printable character
// such as U+00AD, U+200B, U+2028 or U+FEFF, a literal `\uXXXX`, or "][" —
// would silently match nothing, so Upsert refuses them
// (index.ErrInvalidMetadata, in an *index.ItemError naming the record) and
// so do filters (index.ErrInvalidFilter). Ne and NotIn are sent as
// `((exists md["k"]) and not (…))`: Milvus 2.4 and 2.5 releases before
// 2025-03-26 read an unparenthesised exists as taking the whole conjunction.
// The package's tests parse every kind of expression the Store sends with
// Milvus's own grammar (2.5 and master).
//
// # Errors
//
// Failures wrap index's sentinel errors: index.ErrNotFound (collection or
// index missing), index.ErrDimension (a vector or an existing collection of
// another dimension), index.ErrInvalidArgument (bad input, a schema or
// metric mismatch with an existing collection), index.ErrUnauthenticated,
// index.ErrResourceExhausted (rate limits, quotas), index.ErrUnavailable,
// index.ErrClosed. Milvus codes that mean "try again" — rate limit, request
// limit, service not ready or unavailable, collection not fully loaded,
// replica/channel/node not available, and gRPC Unavailable — are marked
// retryable ([index.IsRetryable]); index.UpsertAll retries them. The SDK's
// own retries are turned off so that one policy governs. Bad records fail
// the call with an *index.ItemError before anything is sent. The password
// and token never appear in errors or logs.
//
// # As
//
// errors.As reaches *[Error] (the operation, Milvus code, gRPC code) and,
// for a failed Milvus status, *[StatusError] (code, legacy code, reason,
// the server's retriable hint).
//
// # Testing
//
// Package milvustest is an in-process Milvus the SDK talks to over gRPC on
// 127.0.0.1, with fault injection; this package's tests run the index
// conformance suite through it.
package milvus
