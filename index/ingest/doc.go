// Package ingest keeps a store namespace in sync with a pool of millions
// of items: [Run] streams a source (any iter.Seq2[embedding.Input, error],
// such as embedding/dataset's ScanManifest or ScanFolder) through an
// encoder into an index.VectorStore, in batches, with bounded memory.
//
// It is resumable on every store: each record carries the model and a hash
// of its content and metadata ([KeyModel], [KeyContent], [KeyHash]), and
// each batch first asks the store (one Fetch) which items are already up
// to date, so a run killed at any point and started again re-encodes only
// the batches that were in flight, and a run over an edited source is an
// incremental sync (added and changed items written; removed ones deleted
// with [WithRemoveMissing]). [WithCheckpoint] adds a file of the source
// position, so that a restart skips the items before it without a Fetch.
//
// Items that fail for good (the source's error for one item, an input the
// encoder refuses, a record the store refuses) are dead letters: reported
// with the reason ([WithDeadLetters], [Summary]), and the run goes on.
// Quotas are met with rate limits ([WithEncoderRate], [WithStoreRate]) and
// adaptive concurrency on throttling errors (index.ErrResourceExhausted,
// retry-after hints); progress comes through [WithProgress] and
// [WithLogger].
//
// # Errors
//
// Run's error is nil when the source was read to its end, whatever the
// dead letters. Otherwise it wraps [ErrInvalidOption] (a bad option or
// argument), index.ErrDimension or [ErrModelMismatch] (the encoder does
// not fit the namespace; nothing was written), [ErrCheckpoint] (a
// checkpoint file of another job or source), the context's error, the
// source's error for no item in particular, or the store's or encoder's
// error that outlasted the retries. The namespace is consistent in every
// case, and running again resumes.
package ingest
