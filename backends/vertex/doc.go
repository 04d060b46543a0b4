// Package vertex runs Shoal's embedding and fine-tuning work on Google
// Cloud Vertex AI, through the official client
// (cloud.google.com/go/aiplatform/apiv1):
//
//   - [Encoder] implements embedding.Encoder over PredictionService.Predict:
//     Google's publisher embedding models (multimodalembedding@001 for
//     images and text in one space, text-embedding-005 and its kin) and
//     custom endpoints serving your own or a fine-tuned model (on TPU or
//     GPU), with a configurable instance format ([WithInstanceBuilder]) and
//     prediction path ([WithPredictionPath]). Images go inline
//     (embedding.Input.Image) or as gs:// URIs (embedding.Input.URI).
//     Info() carries the model's request limits, so embedding.EncodeAll
//     batches within them, runs batches in parallel and retries what this
//     package marks retryable.
//   - [BatchEncoder] embeds pools too large for online calls with a
//     BatchPredictionJob: inputs written to Cloud Storage as JSONL
//     ([BatchEncoder.WriteInputs]) or read from a BigQuery table, one job,
//     results streamed back from Cloud Storage as index.Record values ready
//     for index.UpsertAll.
//   - [Trainer] implements finetune.Trainer with a CustomJob on TPU, then
//     registers the model in the Model Registry and, on request, deploys it
//     to an endpoint; the [TrainedModel] it returns is a finetune.Model
//     whose encoder is an [Encoder] on that endpoint.
//
// Package vertextest is an in-process fake of the services, for tests
// that must not touch the cloud.
//
// # Authentication
//
// Clients use Application Default Credentials: on Google Cloud the
// attached service account, elsewhere `gcloud auth application-default
// login` or GOOGLE_APPLICATION_CREDENTIALS pointing at a key file. Pass
// other credentials with [WithClientOptions] (option.WithCredentialsFile,
// option.WithTokenSource, ...). The principal needs roles/aiplatform.user
// (predict, jobs, models, endpoints) and read/write on the staging bucket
// (roles/storage.objectAdmin); batch prediction and training run as the
// Vertex AI service agent or the job's service account, which needs the
// same bucket access. Credentials never appear in this package's errors.
//
// # Regions
//
// Every resource lives in a region (the L of projects/P/locations/L/...),
// and the clients talk to that region's endpoint,
// L-aiplatform.googleapis.com. Publisher embedding models are served in
// most regions (us-central1, europe-west4, asia-northeast1, ...); TPU
// training and serving only in some (us-central1 and europe-west4 among
// them; check "Vertex AI locations" for the current list of each TPU
// generation). Keep the bucket in the same region as the jobs.
//
// # Quotas and limits
//
// Online prediction is limited per project, region and model in requests
// per minute (for example 120-600 for multimodalembedding@001), and per
// request: multimodalembedding@001 takes 1 instance (images up to 20 MB),
// text-embedding models 250 instances and 20,000 tokens (each text up to
// 2,048 tokens, truncated unless [WithAutoTruncate](false)),
// gemini-embedding-001 1 instance, a public endpoint 1.5 MB per request.
// Info().MaxBatch and MaxBatchBytes follow these limits ([TextMaxInstances],
// [TextMaxBatchBytes], [EndpointMaxRequestBytes]). Tokens are budgeted with
// [EstimateTokens], an upper bound for digits, CJK, emoji and rare scripts
// (which take more than one token per three bytes); a text batch over the
// budget is sent as several requests, and one the service still refuses for
// its token count is split in halves and retried. Batch prediction jobs take
// at most 30,000 text inputs and do not take gemini-embedding-001. Quota
// errors (ResourceExhausted) are retried with backoff by EncodeAll;
// lower embedding.WithConcurrency if they persist. Batch prediction jobs
// and TPU training have quotas of their own (concurrent jobs, TPU cores per
// region): a job over quota fails with [ErrJobFailed] and the service's
// message.
//
// # Training container contract
//
// [Trainer] runs your training image as the single worker pool of a
// CustomJob on the configured machine (default TPU v5e, ct5lp-hightpu-4t
// with topology 2x2; [TPUv3] gives cloud-tpu with TPU_V3 ×8). The
// container is started with these arguments, then any [WithTrainingArgs]:
//
//	--data-uri=gs://STAGING/RUN/data/train.jsonl
//	--output-uri=gs://STAGING/RUN/output
//	--loss=supcon|triplet|proxy
//	--epochs=N
//	--dimension=D
//	--validation-uri=gs://STAGING/RUN/data/val.jsonl   (only with validation examples)
//
// Each manifest line is one labeled example:
// {"id": ID, "label": LABEL, "text"?: TEXT, "image"?: {"bytesBase64Encoded"|"gcsUri": ..., "mimeType"?: ...}, "vector"?: [...]}.
// The job's base output directory is --output-uri, so Vertex also sets
// AIP_MODEL_DIR to OUTPUT/model. The container must write the serving
// artifacts under OUTPUT/model/ and a summary OUTPUT/shoal.json:
// {"dimension": D, "best_epoch": E, "epochs": [{"epoch": 1, "loss": 0.9}, ...]}
// (dimension must equal --dimension). It exits 0 on success; a non-zero
// exit fails the job, and the job's error message reaches the caller. The
// serving image ([WithServingImage]) serves OUTPUT/model/: it answers
// Vertex's predict route with {"predictions": [{"embedding": [D numbers]}, ...]}
// for instances in the encoder's format (by default {"text"} and/or
// {"image": {...}}, as multimodalembedding@001 takes them; see
// [WithInstanceBuilder] and [WithPredictionPath] for others).
//
// # Errors
//
// Service errors keep their gRPC status and map onto Shoal's sentinels:
// Unavailable and DeadlineExceeded onto index.ErrUnavailable and
// ResourceExhausted onto index.ErrResourceExhausted, both retryable
// (embedding.IsRetryable reports true, with the server's RetryInfo as the
// retry-after hint); Unauthenticated and PermissionDenied onto
// index.ErrUnauthenticated; NotFound onto index.ErrNotFound;
// InvalidArgument onto embedding.ErrInvalidInput (Encode) or
// index.ErrInvalidArgument (jobs). Inputs a model cannot take wrap
// embedding.ErrInvalidInput, and predictions without the vector or of the
// wrong length embedding.ErrBadOutput; both name the input's ID. Bad options
// wrap [ErrInvalidOption] (an embedding.ErrInvalidOption). Jobs that fail
// wrap [ErrJobFailed] and carry the service's message; jobs cancelled by
// someone else wrap [ErrJobCancelled]; a cancelled context cancels the job
// and returns the context's error. Training examples that cannot be used
// wrap finetune.ErrInvalidExamples.
//
// # As
//
// The client's error stays reachable: errors.As(err, &apiErr) with
// *apierror.APIError (github.com/googleapis/gax-go/v2/apierror) gives the
// gRPC status and its details; status.FromError works too. Storage errors
// are those of cloud.google.com/go/storage (for example
// storage.ErrObjectNotExist).
package vertex
