// Package embedding turns items — images, text — into vectors.
//
// [Encoder] is the interface every model implements: embedding/local has the
// embedded, deterministic defaults (no downloads), backends/vertex runs
// models on Vertex AI, and a model fine-tuned with package finetune is an
// Encoder too, so it drops into every pipeline unchanged.
//
// [EncodeAll] is the pipeline for large pools: it batches a stream of
// [Input] within the encoder's limits, runs several batches at once, retries
// transient failures with backoff, checks every vector, and yields results
// in input order with bounded memory.
//
// # Errors
//
// [ErrInvalidInput] reports an input an encoder cannot use, [ErrBadOutput]
// an encoder that broke its contract, [ErrInvalidOption] a bad option; each
// is wrapped with the input's ID. Errors that [IsRetryable] reports are
// retried by EncodeAll.
package embedding
