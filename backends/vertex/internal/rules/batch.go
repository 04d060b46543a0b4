package rules

import "strings"

// BatchEmbeddingsDoc is the source of the batch prediction rules of the
// publisher text-embedding models: "Get batch text embeddings predictions".
// It says: every stable text-embedding model supports batch prediction
// "with the exception of Gemini embeddings (gemini-embedding-001)"; "each
// request can include up to 30,000 prompts"; and each output line is
// {"instance": {...}, "predictions": [{"embeddings": {"statistics":
// {"token_count": 8, "truncated": false}, "values": [...]}}], "status": ""}.
const BatchEmbeddingsDoc = "https://cloud.google.com/vertex-ai/generative-ai/docs/embeddings/batch-prediction-genai-embeddings"

// MaxBatchJobPrompts is the most prompts one text-embedding batch
// prediction job takes (BatchEmbeddingsDoc).
const MaxBatchJobPrompts = 30000

// UnsupportedBatchMessage is how the service refuses a batch prediction job
// for gemini-embedding-001: InvalidArgument "Do not support publisher model
// gemini-embedding-001" (reported in
// https://github.com/GoogleCloudPlatform/python-docs-samples/issues/13393).
const UnsupportedBatchMessage = "Do not support publisher model "

// SupportsBatch reports whether the publisher model takes batch prediction
// jobs in the BatchPredictionJob JSONL format (BatchEmbeddingsDoc): not the
// Gemini embedding models, whose batch jobs use Gemini's batch inference
// schema instead.
func SupportsBatch(publisherModel string) bool {
	return !strings.HasPrefix(publisherModel, "gemini-embedding")
}

// CustomOutputDoc is the source of a custom (Model Registry) model's batch
// output: each line is a PredictionResult, {"instance"|"key", "prediction"}
// or, in errors_N files, the instance with an "error" {"code"|"status",
// "message"} (BatchPredictionJob.OutputConfig.gcs_destination in
// google/cloud/aiplatform/v1/batch_prediction_job.proto, aiplatform
// v1.127.0; schema PredictionResult).
const CustomOutputDoc = "https://cloud.google.com/vertex-ai/docs/reference/rest/v1/projects.locations.batchPredictionJobs#OutputConfig"
