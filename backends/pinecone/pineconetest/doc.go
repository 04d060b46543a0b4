// Package pineconetest is an in-process fake of Pinecone for tests: the REST
// control plane on an httptest server and the gRPC data plane served from the
// descriptors the official client registers (decoded with dynamicpb, no
// generated code copied). Data lives in index/memory. The fake enforces the
// api-key header and Pinecone's documented limits, each naming its source
// in the code: 1,000 vectors and 2 MB per upsert, 40 KB of metadata per
// vector, record IDs of at most 512 characters, metadata of strings,
// numbers, booleans and lists of strings with no key starting with '$',
// the filter language's operators and operand types, top_k ≤ 10,000, a
// query result of at most 4 MB, 1,000 IDs per fetch or delete. An observer
// ([Server.SetObserver]) sees every request's wire bytes ([Call]), so
// tests can check what a client sends. It also injects faults (latency,
// Unavailable, 429 ResourceExhausted with retry-after, failure after N calls)
// so that retry and "nothing lost, nothing duplicated" can be tested end to
// end.
//
// # Errors
//
// The fake answers as Pinecone does: gRPC Unauthenticated for a wrong key,
// InvalidArgument for a request over a limit or of the wrong dimension,
// Unavailable and ResourceExhausted when injected; the control plane answers
// JSON {"error":{"code":...,"message":...}} with the HTTP status.
//
// Limits and simplifications: one gRPC listener per index (as each Pinecone
// index has its own host); Query is exact (a scan of the index/memory
// store), with Pinecone's scores (squared distance for euclidean); Delete by
// filter, Update, imports and the other methods the Store does not use
// answer Unimplemented.
package pineconetest
