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
// # Model migration
//
// Readers name a pool by an alias and [Resolve] it before search.New or
// feedback.NewSession (a name that is no alias resolves to itself).
// [Migrate] re-embeds the pool with a new model into a new namespace
// while readers keep the old one, checks that the new namespace holds
// every source ID ([ErrVerify] otherwise), switches the alias with one
// Upsert of one record ([SetAlias]; atomic on every store), and deletes
// the old namespace only with [WithDeleteOld]. Aliases are records in
// [AliasNamespace], so every store reads them alike. A crash at any step
// leaves the alias on a complete namespace; running Migrate again
// converges.
//
// # Batch prediction jobs
//
// [RunBatch] does what Run does with a [BatchEncoder] (Vertex AI batch
// prediction: backends/vertex.BatchEncoder's Ingest method) for the
// encode stage: the items that the fetch finds missing or changed are
// written to [BatchPlan].Input, one job embeds them (or several, of at
// most [BatchPlan].MaxItems each), and its output is read back and
// upserted with Run's metadata; inputs the job failed are dead letters
// with the service's reason. The job's name goes to the [BatchPlan].State
// file as soon as it is submitted, so a run killed while the job runs,
// or while its output is upserted, resumes that job when started again
// instead of submitting another.
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
