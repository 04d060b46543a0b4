package vertex_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	aiplatform "cloud.google.com/go/aiplatform/apiv1"
	"cloud.google.com/go/aiplatform/apiv1/aiplatformpb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shoalhq/shoal/backends/vertex"
	"github.com/shoalhq/shoal/backends/vertex/vertextest"
	"github.com/shoalhq/shoal/embedding"
)

// Sources of the wire rules this file checks generated requests against.
const (
	// "Get text embeddings": request body {"instances": [{"content",
	// "task_type"?, "title"?}], "parameters": {"autoTruncate"?,
	// "outputDimensionality"?}}; task types; 250 texts and 20,000 tokens per
	// request.
	textDoc = "https://cloud.google.com/vertex-ai/generative-ai/docs/embeddings/get-text-embeddings"
	// "Multimodal embeddings API": instance {"text"?, "image"?:
	// {"bytesBase64Encoded" | "gcsUri", "mimeType"?}, "video"?}, parameter
	// "dimension" in 128, 256, 512, 1408.
	multimodalDoc = "https://cloud.google.com/vertex-ai/generative-ai/docs/model-reference/multimodal-embeddings-api"
	// "Get batch text embeddings predictions": JSONL input, one object per
	// line; at most 30,000 prompts; no gemini-embedding-001.
	batchDoc = "https://cloud.google.com/vertex-ai/generative-ai/docs/embeddings/batch-prediction-genai-embeddings"
	// BatchPredictionJob.InstanceConfig.key_field (aiplatform v1 proto): the
	// key field is excluded from the instance the model sees and returned
	// as "key".
	keyFieldDoc = "https://cloud.google.com/vertex-ai/docs/reference/rest/v1/projects.locations.batchPredictionJobs#InstanceConfig"
	// "Configure compute resources for custom training", section TPUs.
	computeDoc = "https://cloud.google.com/vertex-ai/docs/training/configure-compute#tpu"
)

// violation is one broken rule: what, and the source that states the rule.
type violation struct{ rule, source string }

func (v violation) String() string { return v.rule + " (" + v.source + ")" }

var docTaskTypes = []string{"RETRIEVAL_QUERY", "RETRIEVAL_DOCUMENT", "SEMANTIC_SIMILARITY", "CLASSIFICATION",
	"CLUSTERING", "QUESTION_ANSWERING", "FACT_VERIFICATION", "CODE_RETRIEVAL_QUERY"}

// checkTextRequest checks a text-embedding Predict request.
func checkTextRequest(c vertextest.PredictCall, full int) []violation {
	var out []violation
	bad := func(src, f string, a ...any) { out = append(out, violation{fmt.Sprintf(f, a...), src}) }
	if len(c.Instances) > 250 {
		bad(textDoc, "%d instances > 250", len(c.Instances))
	}
	tokens := 0
	for i, inst := range c.Instances {
		m, _ := inst.(map[string]any)
		for k := range m {
			if k != "content" && k != "task_type" && k != "title" {
				bad(textDoc, "instance %d has field %q", i, k)
			}
		}
		content, ok := m["content"].(string)
		if !ok || content == "" {
			bad(textDoc, "instance %d has no content string", i)
		}
		if tt, ok := m["task_type"]; ok && !slices.Contains(docTaskTypes, fmt.Sprint(tt)) {
			bad(textDoc, "instance %d task_type %v", i, tt)
		}
		// The conservative count: never less than the service's for
		// digits, CJK, emoji and rare scripts.
		tokens += vertex.EstimateTokens(content) + vertex.TokensPerInstance
	}
	if tokens > 20000 {
		bad(textDoc, "%d estimated input tokens > 20,000", tokens)
	}
	params, _ := c.Parameters.(map[string]any)
	for k, v := range params {
		switch k {
		case "autoTruncate":
			if _, ok := v.(bool); !ok {
				bad(textDoc, "autoTruncate %v is not a bool", v)
			}
		case "outputDimensionality":
			d, ok := v.(float64)
			if !ok || d != float64(int(d)) || d < 1 || int(d) > full {
				bad(textDoc, "outputDimensionality %v not an integer in [1, %d]", v, full)
			}
		default:
			bad(textDoc, "parameter %q", k)
		}
	}
	return out
}

// checkMultimodalRequest checks a multimodalembedding@001 Predict request.
func checkMultimodalRequest(c vertextest.PredictCall) []violation {
	var out []violation
	bad := func(f string, a ...any) { out = append(out, violation{fmt.Sprintf(f, a...), multimodalDoc}) }
	if len(c.Instances) != 1 {
		bad("%d instances (the model takes 1)", len(c.Instances))
	}
	for i, inst := range c.Instances {
		m, _ := inst.(map[string]any)
		if len(m) == 0 {
			bad("instance %d is empty", i)
		}
		for k, v := range m {
			switch k {
			case "text":
				if s, ok := v.(string); !ok || s == "" {
					bad("instance %d text %v", i, v)
				}
			case "image":
				img, _ := v.(map[string]any)
				_, b64 := img["bytesBase64Encoded"].(string)
				uri, gcs := img["gcsUri"].(string)
				if b64 == gcs {
					bad("instance %d image needs exactly one of bytesBase64Encoded and gcsUri", i)
				}
				if gcs && !strings.HasPrefix(uri, "gs://") {
					bad("instance %d gcsUri %q", i, uri)
				}
				for f, fv := range img {
					if f == "mimeType" && !strings.HasPrefix(fmt.Sprint(fv), "image/") {
						bad("instance %d mimeType %v", i, fv)
					} else if f != "mimeType" && f != "bytesBase64Encoded" && f != "gcsUri" {
						bad("instance %d image field %q", i, f)
					}
				}
			default:
				bad("instance %d field %q", i, k)
			}
		}
	}
	params, _ := c.Parameters.(map[string]any)
	for k, v := range params {
		if k != "dimension" || !slices.Contains([]any{128.0, 256.0, 512.0, 1408.0}, v) {
			bad("parameter %s=%v", k, v)
		}
	}
	return out
}

// corpus is the broad set of inputs the conformance tests send.
func corpus(t *testing.T) []embedding.Input {
	texts := []string{"a red shoe", "東京の天気は晴れです", "😀🎉🚀 party", "3141592653589793", "Привет, мир",
		"mixed 中文 and English 123", strings.Repeat("long english text ", 400), strings.Repeat("長い日本語のテキスト", 300),
		strings.Repeat("🚀", 1500), strings.Repeat("0123456789", 700), "tabs\tand\nnewlines", "quote \" and backslash \\"}
	var in []embedding.Input
	for i, s := range texts {
		in = append(in, embedding.Input{ID: fmt.Sprintf("text-%02d", i), Text: s})
	}
	return in
}

// TestWireConformance sends the corpus through the encoder for every model
// kind and option set, records the requests the fake received, and checks
// each against the documented rules above.
func TestWireConformance(t *testing.T) {
	t.Parallel()
	img := pngBytes(t, 7)
	images := []embedding.Input{{ID: "png", Image: img}, {ID: "png-typed", Image: img, MIMEType: "image/png"},
		{ID: "uri", URI: "gs://b/cat.jpg"}, {ID: "uri-typed", URI: "gs://b/blob", MIMEType: "image/webp"},
		{ID: "mixed", Text: "a caption", Image: img}}
	type setup struct {
		name   string
		target string
		opts   []vertex.Option
		in     []embedding.Input
		check  func(vertextest.PredictCall) []violation
	}
	var setups []setup
	for _, d := range []int{0, 1, 64, 256, 767, 768} {
		opts := []vertex.Option{vertex.WithTaskType(docTaskTypes[d%len(docTaskTypes)])}
		if d > 0 {
			opts = append(opts, vertex.WithDimension(d))
		}
		for _, model := range []string{vertex.TextEmbedding005, vertex.TextMultilingualEmbedding002} {
			setups = append(setups, setup{fmt.Sprintf("%s/dim=%d", model, d), vertex.PublisherModel(project, location, model), opts, corpus(t),
				func(c vertextest.PredictCall) []violation { return checkTextRequest(c, 768) }})
		}
	}
	setups = append(setups, setup{"text-embedding-005/no truncation", textModel(), []vertex.Option{vertex.WithAutoTruncate(false)}, corpus(t)[:6],
		func(c vertextest.PredictCall) []violation { return checkTextRequest(c, 768) }})
	setups = append(setups, setup{"gemini-embedding-001", vertex.PublisherModel(project, location, vertex.GeminiEmbedding001), []vertex.Option{vertex.WithDimension(3072)}, corpus(t)[:6],
		func(c vertextest.PredictCall) []violation { return checkTextRequest(c, 3072) }})
	for _, d := range []int{128, 256, 512, 1408} {
		setups = append(setups, setup{fmt.Sprintf("multimodal/dim=%d", d), multimodalModel(), []vertex.Option{vertex.WithDimension(d)},
			append(slices.Clone(images), corpus(t)[:6]...), checkMultimodalRequest})
	}
	for _, s := range setups {
		t.Run(s.name, func(t *testing.T) {
			t.Parallel()
			srv := newFake(t)
			var mu sync.Mutex
			var calls []vertextest.PredictCall
			srv.OnPredict(func(c vertextest.PredictCall) { mu.Lock(); calls = append(calls, c); mu.Unlock() })
			enc := newEncoder(t, srv, s.target, s.opts...)
			n := 0
			for _, err := range embedding.EncodeAll(context.Background(), enc, embedding.Inputs(s.in)) {
				require.NoError(t, err)
				n++
			}
			require.Equal(t, len(s.in), n)
			mu.Lock()
			defer mu.Unlock()
			require.NotEmpty(t, calls)
			for _, c := range calls {
				for _, v := range s.check(c) {
					t.Errorf("request to %s: %s", c.Endpoint, v)
				}
			}
		})
	}
}

// TestBatchWireConformance checks the input file and job of a batch
// prediction: one JSON object per line in the model's instance format,
// the key field in each line and named in the job, JSONL in and out.
func TestBatchWireConformance(t *testing.T) {
	t.Parallel()
	srv, gcs := newBatchWorld(t)
	ctx := context.Background()
	jobs, err := aiplatform.NewJobClient(ctx, srv.ClientOptions()...)
	require.NoError(t, err)
	defer jobs.Close()
	for _, tc := range []struct {
		model string
		opts  []vertex.Option
		in    []embedding.Input
		check func(vertextest.PredictCall) []violation
	}{
		{textModel(), []vertex.Option{vertex.WithDimension(64), vertex.WithTaskType("RETRIEVAL_DOCUMENT")}, corpus(t),
			func(c vertextest.PredictCall) []violation { return checkTextRequest(c, 768) }},
		{multimodalModel(), []vertex.Option{vertex.WithDimension(128)}, append(corpus(t)[:4], embedding.Input{ID: "img", URI: "gs://b/x.png"}), checkMultimodalRequest},
	} {
		b := newBatchEncoder(t, srv, gcs, tc.model, tc.opts...)
		uri := fmt.Sprintf("gs://data/conf-%d.jsonl", len(tc.in))
		_, err := b.WriteInputs(ctx, uri, embedding.Inputs(tc.in))
		require.NoError(t, err)
		obj, err := gcs.GetObject("data", strings.TrimPrefix(uri, "gs://data/"))
		require.NoError(t, err)
		sc := bufio.NewScanner(bytes.NewReader(obj.Content))
		sc.Buffer(nil, 1<<20)
		lines := 0
		for sc.Scan() {
			var inst map[string]any
			require.NoError(t, json.Unmarshal(sc.Bytes(), &inst), "one JSON object per line (%s)", batchDoc)
			assert.IsType(t, "", inst[vertex.KeyField], "every line carries the key field (%s)", keyFieldDoc)
			delete(inst, vertex.KeyField) // the model never sees it
			job, err := b.Submit(ctx, uri, "gs://data/conf-out")
			require.NoError(t, err)
			got, err := jobs.GetBatchPredictionJob(ctx, &aiplatformpb.GetBatchPredictionJobRequest{Name: job.Name()})
			require.NoError(t, err)
			assert.Equal(t, vertex.KeyField, got.GetInstanceConfig().GetKeyField(), keyFieldDoc)
			assert.Equal(t, "jsonl", got.GetInputConfig().GetInstancesFormat(), batchDoc)
			assert.Equal(t, "jsonl", got.GetOutputConfig().GetPredictionsFormat(), batchDoc)
			call := vertextest.PredictCall{Instances: []any{inst}, Parameters: got.GetModelParameters().AsInterface()}
			for _, v := range tc.check(call) {
				t.Errorf("%s line %d: %s", tc.model, lines+1, v)
			}
			lines++
			if lines > 2 {
				break // the job is the same for every line
			}
		}
		assert.LessOrEqual(t, lines, 30000, batchDoc)
	}
}

// TestTrainingWireConformance checks the worker pools of the custom jobs
// the trainer creates for each TPU it offers against computeDoc.
func TestTrainingWireConformance(t *testing.T) {
	t.Parallel()
	srv, gcs := newBatchWorld(t)
	ctx := context.Background()
	jobs, err := aiplatform.NewJobClient(ctx, srv.ClientOptions()...)
	require.NoError(t, err)
	defer jobs.Close()
	for _, m := range []vertex.Machine{vertex.TPUv3(), vertex.TPUv5e(1), vertex.TPUv5e(4), vertex.TPUv5e(8),
		{MachineType: "ct5lp-hightpu-4t", TPUTopology: "4x4"}, {MachineType: "ct6e-standard-8t", TPUTopology: "2x4"},
		{MachineType: "cloud-tpu", Accelerator: "TPU_V2", AcceleratorCount: 32}} {
		tr := newTrainer(t, srv, gcs, vertex.WithTrainingMachine(m))
		_, err := tr.Train(ctx, examples(6), nil)
		require.NoError(t, err, "%+v", m)
	}
	var created []string
	for _, r := range srv.JobRequests() {
		if n, ok := strings.CutPrefix(r, "GetCustomJob "); ok && !slices.Contains(created, n) {
			created = append(created, n)
		}
	}
	require.Len(t, created, 7)
	for _, name := range created {
		job, err := jobs.GetCustomJob(ctx, &aiplatformpb.GetCustomJobRequest{Name: name})
		require.NoError(t, err)
		pools := job.GetJobSpec().GetWorkerPoolSpecs()
		require.Len(t, pools, 1, "a TPU job has one worker pool (%s)", computeDoc)
		wp := pools[0]
		assert.EqualValues(t, 1, wp.GetReplicaCount(), "one replica (%s)", computeDoc)
		ms := wp.GetMachineSpec()
		switch mt := ms.GetMachineType(); {
		case mt == "cloud-tpu":
			assert.Contains(t, []aiplatformpb.AcceleratorType{aiplatformpb.AcceleratorType_TPU_V2, aiplatformpb.AcceleratorType_TPU_V3}, ms.GetAcceleratorType(), computeDoc)
			assert.True(t, ms.GetAcceleratorCount() == 8 || ms.GetAcceleratorCount()%32 == 0, "count 8 or a pod's multiple of 32 (%s)", computeDoc)
			assert.Empty(t, ms.GetTpuTopology(), computeDoc)
		default:
			assert.Regexp(t, `^(ct5lp-hightpu-[148]t|ct6e-standard-[148]t|tpu7x-standard-4t)$`, mt, computeDoc)
			assert.Equal(t, aiplatformpb.AcceleratorType_ACCELERATOR_TYPE_UNSPECIFIED, ms.GetAcceleratorType(), "v5e sets machine type and topology only (%s)", computeDoc)
			assert.Zero(t, ms.GetAcceleratorCount(), computeDoc)
			assert.NotEmpty(t, ms.GetTpuTopology(), computeDoc)
		}
	}
}
