// Package pinecone stores Shoal's vectors in Pinecone, the managed
// approximate-nearest-neighbour service, through the official client
// (github.com/pinecone-io/go-pinecone/v5). [Store] implements
// index.VectorStore, index.Namespacer and index.Counter on one Pinecone
// index; Shoal namespaces are Pinecone namespaces.
//
// Open an existing index by name ([Open]) or by its data-plane host
// ([WithHost]), or create a serverless or pod index when it is missing
// ([WithCreate]) and wait until it is ready. Writes are best sent through
// index.UpsertAll, which batches, runs requests in parallel and retries what
// the Store marks retryable; the Store itself splits every call to honour
// Pinecone's limits (1000 vectors or 2 MB per upsert, each record counted
// at its exact size on the wire; 1000 IDs per fetch or delete; top_k ≤
// 10000) and checks every record before sending anything. A query whose
// result could exceed Pinecone's 4 MB (TopK above about 30) is answered in
// two steps, IDs and scores first, then a fetch of the matches (see
// [Store.Query]).
//
// Scores follow Shoal's convention, larger is more similar: cosine
// similarity, dot product, and the negated squared Euclidean distance
// (Pinecone reports the squared distance for "euclidean"; the Store negates
// it).
//
// Metadata: Pinecone keeps strings, booleans, numbers (doubles) and lists of
// strings. Strings, booleans, float64 and []string round-trip exactly; an
// int64 comes back as the float64 of the same value (compare with
// index.Metadata.Number); an int64 beyond ±2^53 cannot be stored exactly
// and is rejected on write. Metadata over 40 KB as JSON is rejected on
// write, naming the record.
//
// Filters are translated to Pinecone's metadata filter language exactly:
// Shoal's Ne and NotIn match only records that have the field, so they
// become $exists plus $ne/$nin; a filter that cannot be translated is an
// index.ErrInvalidFilter error, never dropped.
//
// Scan lists IDs page by page and fetches them, so it needs an index whose
// List operation works (serverless). Count and Namespaces read the index
// statistics, which on Pinecone trail recent writes.
//
// Package pineconetest is an in-process fake of Pinecone's control and data
// planes for tests.
//
// # Errors
//
// Every error wraps one of index's sentinels: ErrInvalidArgument (and its
// refinements ErrInvalidID, ErrInvalidVector, ErrInvalidMetadata,
// ErrInvalidFilter, ErrDimension) for bad input, checked before sending
// where possible and reported as an *index.ItemError naming the record;
// ErrUnauthenticated for a wrong API key (HTTP 401/403, gRPC
// Unauthenticated/PermissionDenied); ErrNotFound for a missing index;
// ErrResourceExhausted for HTTP 429 / gRPC ResourceExhausted and
// ErrUnavailable for 5xx, Unavailable and one attempt's deadline — both
// marked retryable (index.IsRetryable) with the service's retry-after when
// it sent one; ErrClosed after Close. A cancelled context is reported as the
// context's error. The API key never appears in an error message.
//
// # As
//
// errors.As reaches *[Error] (operation, HTTP status or gRPC code,
// Pinecone's message, retry-after) and, through it, the client's own error:
// *pinecone.PineconeError from the control plane, or the gRPC status error
// (status.FromError) from the data plane.
package pinecone
