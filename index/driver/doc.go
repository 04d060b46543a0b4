// Package driver holds what implementers of [index.VectorStore] need and
// users of a store do not: the checks every store runs before it touches
// its data or the network, and the helpers that classify errors.
//
// It is split from package index in the way database/sql/driver is split
// from database/sql and gocloud.dev/blob/driver from blob: `go doc index`
// shows what a caller uses; `go doc index/driver` shows what a store author
// uses. A store runs [CheckUpsert], [CheckQuery] or [CheckCall] first in
// each method — one call that rejects a nil or finished context, a bad
// namespace and bad records or queries, with the sentinel errors of package
// index — and keeps only what is specific to its service. The conformance
// suite in index/indextest checks that it did.
//
// # Errors
//
// Every check returns an error wrapping one of index's sentinels
// (index.ErrInvalidArgument and its refinements), naming the record by an
// *index.ItemError where one is concerned. [ContextError] reports a
// context that ended (or whose deadline passed before its timer fired) as
// the caller's, and [Temporary] marks a failure as retryable for
// index.UpsertAll and embedding.EncodeAll.
package driver
