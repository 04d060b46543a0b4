// Package vertextest is an in-process fake of the Vertex AI services that
// Shoal's backends/vertex package calls — PredictionService, JobService
// (batch prediction and custom jobs), ModelService, EndpointService and the
// long-running Operations service — speaking the real gRPC protocol on
// 127.0.0.1, so that the official aiplatform client is what gets tested.
//
// Embeddings are deterministic: an instance's vector is [Vector]([Key](instance), dim),
// so the same image always gets the same vector and tests can compute what
// they expect. Jobs follow Vertex's state machines (PENDING → RUNNING →
// SUCCEEDED, FAILED or CANCELLING → CANCELLED), advancing one step per
// Get call. Backed by a Cloud Storage client (for example
// github.com/fsouza/fake-gcs-server's fakestorage), batch prediction jobs
// read their JSONL input from it and write Vertex's output files
// (predictions_00001.jsonl with {"instance"|"key", "prediction"} lines), and
// custom jobs write the files the training container contract asks for.
//
// Fault injection: latency per call ([Server.SetLatency]), a rate of
// transient Unavailable/ResourceExhausted errors ([Server.SetTransientErrorRate]),
// failure after N calls ([Server.FailAfter]), malformed predictions on
// demand ([Server.Malform]), jobs that fail or never finish
// ([Server.FailJobs], [Server.HoldJobs]), and an observer of every Predict
// call ([Server.OnPredict]).
//
// # Errors
//
// The fake answers with gRPC status codes as Vertex does: NotFound for an
// unknown model, endpoint, job or operation, InvalidArgument for a malformed
// request, and the injected codes.
package vertextest
