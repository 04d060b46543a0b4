package vertex

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/shoalhq/shoal/index/driver"
	"iter"
	"path"
	"regexp"
	"slices"
	"strings"
	"time"

	aiplatform "cloud.google.com/go/aiplatform/apiv1"
	"cloud.google.com/go/aiplatform/apiv1/aiplatformpb"
	"cloud.google.com/go/storage"
	"google.golang.org/api/iterator"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/shoalhq/shoal/backends/vertex/internal/rules"
	"github.com/shoalhq/shoal/embedding"
	"github.com/shoalhq/shoal/index"
)

// KeyField is the instance field that carries an input's ID through a
// batch prediction job: [BatchEncoder.WriteInputs] writes it into every
// JSONL line (a BigQuery source needs a column of that name), the job is
// told to treat it as the key (InstanceConfig.key_field), so the model
// never sees it and every output line carries it back as "key".
const KeyField = "id"

// Defaults of the batch job poll.
const (
	DefaultPollInitial = 5 * time.Second
	DefaultPollMax     = 1 * time.Minute
)

var modelRE = regexp.MustCompile(`^projects/([^/]+)/locations/([^/]+)/models/([^/@]+)(@[^/]+)?$`)

// WithStorageClient sets the Cloud Storage client that [BatchEncoder] and
// [Trainer] read and write with (default: storage.NewClient with Application
// Default Credentials). The caller keeps ownership: Close does not close it.
//
// Applies to [NewBatchEncoder] and [NewTrainer].
func WithStorageClient(c *storage.Client) Option {
	return newOption("WithStorageClient", forJobs, func(cfg *config) error {
		if c == nil {
			return fmt.Errorf("nil storage client")
		}
		cfg.gcs = c
		return nil
	})
}

// WithPollInterval sets how a job is polled: the first wait and the cap of
// its doubling (defaults 5s and 1m).
//
// Applies to [NewBatchEncoder] and [NewTrainer].
func WithPollInterval(initial, max time.Duration) Option {
	return newOption("WithPollInterval", forJobs, func(cfg *config) error {
		if initial <= 0 || max < initial {
			return fmt.Errorf("poll interval %v..%v", initial, max)
		}
		cfg.pollMin, cfg.pollMax = initial, max
		return nil
	})
}

// WithDisplayName sets the display name of the jobs, models and endpoints
// this package creates (default "shoal-" and the kind of resource).
//
// Applies to [NewBatchEncoder] and [NewTrainer].
func WithDisplayName(name string) Option {
	return newOption("WithDisplayName", forJobs, func(cfg *config) error {
		if name == "" {
			return fmt.Errorf("empty display name")
		}
		cfg.displayName = name
		return nil
	})
}

// BatchEncoder embeds pools too large for online calls with Vertex AI batch
// prediction (JobService BatchPredictionJob): inputs go to Cloud Storage as
// JSONL (or come from a BigQuery table), one job embeds them all, and the
// results stream back from Cloud Storage as records for index.UpsertAll.
// It is safe for concurrent use.
type BatchEncoder struct {
	enc     *Encoder // builds instances and reads predictions; no client
	parent  string
	model   string
	jobs    *aiplatform.JobClient
	gcs     *storage.Client
	ownGCS  bool
	pollMin time.Duration
	pollMax time.Duration
	name    string
}

// NewBatchEncoder returns a batch encoder for model: a publisher model
// (projects/P/locations/L/publishers/google/models/M) or a model in the
// Model Registry (projects/P/locations/L/models/M, which needs
// [WithDimension] and serves {"embedding": [...]} unless
// [WithPredictionPath] says otherwise). The model options of [NewEncoder]
// apply (dimension, task type, instance builder, ...), as do
// [WithStorageClient], [WithPollInterval] and [WithDisplayName]; each
// option's documentation says whether it applies.
//
// Publisher models that do not take batch prediction jobs are refused:
// gemini-embedding-001 ("Get batch text embeddings predictions",
// https://cloud.google.com/vertex-ai/generative-ai/docs/embeddings/batch-prediction-genai-embeddings,
// excepts it; embed it online with [NewEncoder]). A text-embedding job
// takes at most 30,000 inputs (the same page), which
// [BatchEncoder.WriteInputs] enforces.
func NewBatchEncoder(ctx context.Context, model string, opts ...Option) (*BatchEncoder, error) {
	var c config
	if err := applyOptions(&c, ctorBatch, opts); err != nil {
		return nil, err
	}
	e := &Encoder{target: model, cfg: c}
	var project, location string
	if m := publisherRE.FindStringSubmatch(model); m != nil {
		project, location, e.modelID = m[1], m[2], m[4]
		if !rules.SupportsBatch(e.modelID) {
			return nil, invalidf("publisher model %s does not take batch prediction jobs (see %s); embed with NewEncoder instead", e.modelID, rules.BatchEmbeddingsDoc)
		}
		if err := e.setupPublisher(); err != nil {
			return nil, err
		}
	} else if m := modelRE.FindStringSubmatch(model); m != nil {
		project, location = m[1], m[2]
		if err := e.setupCustom(); err != nil {
			return nil, err
		}
	} else {
		return nil, fmt.Errorf("%w: model %q is neither projects/P/locations/L/publishers/google/models/M nor projects/P/locations/L/models/M", ErrInvalidOption, model)
	}
	b := &BatchEncoder{enc: e, model: model, parent: fmt.Sprintf("projects/%s/locations/%s", project, location),
		pollMin: DefaultPollInitial, pollMax: DefaultPollMax, name: "shoal-batch-embed"}
	if c.pollMin > 0 {
		b.pollMin, b.pollMax = c.pollMin, c.pollMax
	}
	if c.displayName != "" {
		b.name = c.displayName
	}
	jobs, err := aiplatform.NewJobClient(ctx, clientOptions(location, c.clientOpts)...)
	if err != nil {
		return nil, mapError(ctx, "new job client", err, ErrInvalidOption)
	}
	b.jobs = jobs
	b.gcs = c.gcs
	if b.gcs == nil {
		gcs, err := storage.NewClient(ctx)
		if err != nil {
			_ = jobs.Close()
			return nil, fmt.Errorf("vertex: new storage client: %w", err)
		}
		b.gcs, b.ownGCS = gcs, true
	}
	return b, nil
}

// Info describes the vectors the jobs produce (MaxBatch and MaxBatchBytes
// are those of online calls and do not limit a job).
func (b *BatchEncoder) Info() embedding.Info { return b.enc.info }

// Close releases the clients (not a storage client passed with
// [WithStorageClient]).
func (b *BatchEncoder) Close() error {
	err := b.jobs.Close()
	if b.ownGCS {
		err = errors.Join(err, b.gcs.Close())
	}
	return err
}

// WriteInputs writes in to Cloud Storage at uri (gs://bucket/object.jsonl)
// as the JSONL input of a batch prediction job: one instance per line, in
// the model's format, with the input's ID under [KeyField]. It returns the
// number of lines written. An input the model cannot take, an empty or
// repeated ID, or for a text-embedding model the 30,001st input (a job
// takes at most 30,000), fails the write with an error naming it; nothing
// is left at uri then (an object already there is removed).
func (b *BatchEncoder) WriteInputs(ctx context.Context, uri string, in iter.Seq2[embedding.Input, error]) (int, error) {
	bucket, object, ok := splitGS(uri)
	if !ok || object == "" {
		return 0, fmt.Errorf("%w: input uri %q is not gs://bucket/object", ErrInvalidOption, uri)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // an unfinished upload is abandoned, not committed
	w := b.gcs.Bucket(bucket).Object(object).NewWriter(ctx)
	w.ContentType = "application/jsonl"
	bw := bufio.NewWriterSize(w, 256<<10)
	seen := map[string]struct{}{}
	n := 0
	fail := func(err error) (int, error) {
		cancel()
		_ = w.Close()
		// A cancelled upload reports an error, but a server may still
		// have committed what it received (fake-gcs-server does, once over
		// 256 KiB were written): remove the object, so that nothing is
		// left at uri.
		dctx, done := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer done()
		if derr := b.gcs.Bucket(bucket).Object(object).Delete(dctx); derr != nil && !errors.Is(derr, storage.ErrObjectNotExist) {
			return 0, fmt.Errorf("%w (and removing the partial %s failed: %v)", err, uri, derr)
		}
		return 0, err
	}
	for x, err := range in {
		if err != nil {
			return fail(fmt.Errorf("vertex: input stream at %d: %w", n, err))
		}
		if x.ID == "" {
			return fail(fmt.Errorf("vertex: input %d: %w: empty ID", n, embedding.ErrInvalidInput))
		}
		if n == rules.MaxBatchJobPrompts && b.enc.kind == kindText {
			return fail(fmt.Errorf("vertex: input %q: %w: a %s batch job takes at most %d inputs (%s); write the rest to another file and run another job",
				x.ID, embedding.ErrInvalidInput, b.enc.modelID, rules.MaxBatchJobPrompts, rules.BatchEmbeddingsDoc))
		}
		if _, dup := seen[x.ID]; dup {
			return fail(fmt.Errorf("vertex: input %q: %w: ID given twice", x.ID, embedding.ErrInvalidInput))
		}
		seen[x.ID] = struct{}{}
		xs, err := withPNG([]embedding.Input{x})
		if err != nil {
			return fail(fmt.Errorf("vertex: %w", err))
		}
		v, err := b.enc.instance(xs[0])
		if err != nil {
			return fail(fmt.Errorf("vertex: input %q: %w", x.ID, err))
		}
		s := v.GetStructValue()
		if _, clash := s.GetFields()[KeyField]; clash {
			return fail(fmt.Errorf("vertex: input %q: %w: instance already has a %q field", x.ID, embedding.ErrInvalidInput, KeyField))
		}
		s.Fields[KeyField] = structpb.NewStringValue(x.ID)
		line, err := v.MarshalJSON()
		if err != nil {
			return fail(fmt.Errorf("vertex: input %q: %w", x.ID, err))
		}
		bw.Write(line)
		bw.WriteByte('\n')
		n++
	}
	if err := bw.Flush(); err != nil {
		return fail(fmt.Errorf("vertex: writing %s: %w", uri, err))
	}
	if err := w.Close(); err != nil {
		return 0, fmt.Errorf("vertex: writing %s: %w", uri, err)
	}
	return n, nil
}

// BatchJob is a submitted batch prediction job.
type BatchJob struct {
	b    *BatchEncoder
	name string
	out  string // output directory, once the job succeeded
}

// Name returns the job's resource name
// (projects/P/locations/L/batchPredictionJobs/N).
func (j *BatchJob) Name() string { return j.name }

// Submit creates a batch prediction job reading input — gs:// JSONL
// objects (comma-separated, as written by [BatchEncoder.WriteInputs]) or a
// BigQuery table bq://project.dataset.table with a [KeyField] column — and
// writing JSONL predictions under outputPrefix (gs://bucket/path).
func (b *BatchEncoder) Submit(ctx context.Context, input, outputPrefix string) (*BatchJob, error) {
	ic := &aiplatformpb.BatchPredictionJob_InputConfig{}
	switch {
	case strings.HasPrefix(input, "bq://"):
		ic.InstancesFormat = "bigquery"
		ic.Source = &aiplatformpb.BatchPredictionJob_InputConfig_BigquerySource{BigquerySource: &aiplatformpb.BigQuerySource{InputUri: input}}
	case strings.HasPrefix(input, "gs://"):
		uris := strings.Split(input, ",")
		for _, u := range uris {
			if _, o, ok := splitGS(u); !ok || o == "" {
				return nil, fmt.Errorf("%w: input %q is not gs://bucket/object", ErrInvalidOption, u)
			}
		}
		ic.InstancesFormat = "jsonl"
		ic.Source = &aiplatformpb.BatchPredictionJob_InputConfig_GcsSource{GcsSource: &aiplatformpb.GcsSource{Uris: uris}}
	default:
		return nil, fmt.Errorf("%w: input %q is neither gs:// JSONL nor a bq:// table", ErrInvalidOption, input)
	}
	if _, _, ok := splitGS(outputPrefix); !ok {
		return nil, fmt.Errorf("%w: output prefix %q is not gs://bucket/path", ErrInvalidOption, outputPrefix)
	}
	job, err := b.jobs.CreateBatchPredictionJob(ctx, &aiplatformpb.CreateBatchPredictionJobRequest{
		Parent: b.parent,
		BatchPredictionJob: &aiplatformpb.BatchPredictionJob{
			DisplayName:     b.name,
			Model:           b.model,
			InputConfig:     ic,
			InstanceConfig:  &aiplatformpb.BatchPredictionJob_InstanceConfig{KeyField: KeyField},
			ModelParameters: b.enc.params,
			OutputConfig: &aiplatformpb.BatchPredictionJob_OutputConfig{
				PredictionsFormat: "jsonl",
				Destination:       &aiplatformpb.BatchPredictionJob_OutputConfig_GcsDestination{GcsDestination: &aiplatformpb.GcsDestination{OutputUriPrefix: outputPrefix}},
			},
		},
	})
	if err != nil {
		return nil, mapError(ctx, "create batch prediction job", err, index.ErrInvalidArgument)
	}
	return &BatchJob{b: b, name: job.GetName()}, nil
}

// Wait polls the job, with backoff, until it ends. It returns nil when the
// job succeeded (also partially: failed inputs then come out of Records
// as errors), an error wrapping [ErrJobFailed] with the job's message when
// it failed or expired, and [ErrJobCancelled] when someone cancelled it. If
// ctx ends first, Wait cancels the job and returns ctx's error.
// Transient errors of a poll are retried.
func (j *BatchJob) Wait(ctx context.Context) error {
	get := func(ctx context.Context) (state aiplatformpb.JobState, msg string, err error) {
		job, err := j.b.jobs.GetBatchPredictionJob(ctx, &aiplatformpb.GetBatchPredictionJobRequest{Name: j.name})
		if err != nil {
			return 0, "", err
		}
		if d := job.GetOutputInfo().GetGcsOutputDirectory(); d != "" {
			j.out = d
		}
		return job.GetState(), job.GetError().GetMessage(), nil
	}
	cancel := func(ctx context.Context) error {
		return j.b.jobs.CancelBatchPredictionJob(ctx, &aiplatformpb.CancelBatchPredictionJobRequest{Name: j.name})
	}
	return waitJob(ctx, "batch prediction job "+j.name, get, cancel, j.b.pollMin, j.b.pollMax)
}

// waitJob is the poll loop shared by batch prediction and custom jobs.
func waitJob(ctx context.Context, what string, get func(context.Context) (aiplatformpb.JobState, string, error),
	cancel func(context.Context) error, pollMin, pollMax time.Duration) error {
	delay := pollMin
	for {
		state, msg, err := get(ctx)
		if err != nil {
			mapped := mapError(ctx, "get "+what, err, index.ErrInvalidArgument)
			if driver.ContextError(ctx) != nil {
				// The caller gave up (perhaps noticed first by the
				// transport, before the context's own timer fired).
				return cancelJob(ctx, what, cancel)
			}
			if !embedding.IsRetryable(mapped) {
				return mapped
			}
		} else {
			switch state {
			case aiplatformpb.JobState_JOB_STATE_SUCCEEDED, aiplatformpb.JobState_JOB_STATE_PARTIALLY_SUCCEEDED:
				return nil
			case aiplatformpb.JobState_JOB_STATE_FAILED, aiplatformpb.JobState_JOB_STATE_EXPIRED:
				return fmt.Errorf("%w: %s ended %s: %s", ErrJobFailed, what, strings.TrimPrefix(state.String(), "JOB_STATE_"), msg)
			case aiplatformpb.JobState_JOB_STATE_CANCELLED:
				return fmt.Errorf("%w: %s", ErrJobCancelled, what)
			}
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return cancelJob(ctx, what, cancel)
		case <-t.C:
		}
		delay = min(2*delay, pollMax)
	}
}

// cancelJob asks the service to cancel a job whose caller gave up, on a
// context of its own (the caller's has ended), and returns the caller's
// error.
func cancelJob(ctx context.Context, what string, cancel func(context.Context) error) error {
	cctx, done := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer done()
	cause := driver.ContextError(ctx)
	if err := cancel(cctx); err != nil {
		return fmt.Errorf("vertex: %s: %w (cancelling the job failed too: %v)", what, cause, err)
	}
	return fmt.Errorf("vertex: %s: %w (job cancelled)", what, cause)
}

// OutputDirectory returns where the job wrote its predictions (known once
// Wait returned nil).
func (j *BatchJob) OutputDirectory() string { return j.out }

// Records streams the job's predictions from Cloud Storage as records
// (ID from [KeyField], the vector; no metadata), file by file and line by
// line, so memory stays flat however large the job. A line whose
// prediction is malformed (a missing field, the wrong dimension) yields an
// error wrapping embedding.ErrBadOutput that names its ID, and an input
// the job failed (a line with a non-empty "status" or an "error", or any
// line of an errors_*.jsonl file) one wrapping embedding.ErrInvalidInput
// with the service's reason; such errors are an *index.ItemError carrying
// the input's ID (Index -1: a job's output is not in input order) when the
// line names it. Ranging may go on past them. Both output
// formats are read: publisher models' {"predictions": [P], "status"} and
// custom models' {"prediction": P}. Call it after Wait returned nil.
func (j *BatchJob) Records(ctx context.Context) iter.Seq2[index.Record, error] {
	return func(yield func(index.Record, error) bool) {
		if j.out == "" {
			yield(index.Record{}, fmt.Errorf("vertex: batch prediction job %s: %w: no output directory (has Wait returned nil?)", j.name, index.ErrNotFound))
			return
		}
		bucket, prefix, _ := splitGS(strings.TrimSuffix(j.out, "/"))
		files, err := listOutputs(ctx, j.b.gcs.Bucket(bucket), prefix+"/")
		if err != nil {
			yield(index.Record{}, fmt.Errorf("vertex: listing %s: %w", j.out, err))
			return
		}
		for _, f := range files {
			isErr := strings.HasPrefix(path.Base(f), "errors")
			if !readJSONLines(ctx, j.b.gcs.Bucket(bucket).Object(f), "gs://"+bucket+"/"+f, func(line []byte, where string) bool {
				rec, err := j.b.enc.decodeOutputLine(line, isErr)
				if err != nil {
					err = fmt.Errorf("vertex: %s: %w", where, err)
					if id := outputLineID(line); id != "" {
						err = &index.ItemError{Index: -1, ID: id, Err: err}
					}
					return yield(index.Record{}, err)
				}
				return yield(rec, nil)
			}, yield) {
				return
			}
		}
	}
}

// listOutputs returns the prediction and error files under prefix,
// predictions first, each group in name order.
func listOutputs(ctx context.Context, bkt *storage.BucketHandle, prefix string) ([]string, error) {
	var preds, errs []string
	it := bkt.Objects(ctx, &storage.Query{Prefix: prefix})
	for {
		a, err := it.Next()
		if errors.Is(err, iterator.Done) {
			break
		}
		if err != nil {
			return nil, err
		}
		base := path.Base(a.Name)
		if !strings.HasSuffix(base, ".jsonl") {
			continue
		}
		switch {
		case strings.HasPrefix(base, "prediction"):
			preds = append(preds, a.Name)
		case strings.HasPrefix(base, "errors"):
			errs = append(errs, a.Name)
		}
	}
	slices.Sort(preds)
	slices.Sort(errs)
	return append(preds, errs...), nil
}

// readJSONLines calls fn on every non-empty line of obj; it reports false
// when the consumer stopped (fn or yield returned false).
func readJSONLines(ctx context.Context, obj *storage.ObjectHandle, uri string, fn func(line []byte, where string) bool, yield func(index.Record, error) bool) bool {
	r, err := obj.NewReader(ctx)
	if err != nil {
		return yield(index.Record{}, fmt.Errorf("vertex: reading %s: %w", uri, err))
	}
	defer r.Close()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 256<<10), 64<<20)
	for n := 1; sc.Scan(); n++ {
		if len(strings.TrimSpace(sc.Text())) == 0 {
			continue
		}
		if !fn(sc.Bytes(), fmt.Sprintf("%s line %d", uri, n)) {
			return false
		}
	}
	if err := sc.Err(); err != nil {
		return yield(index.Record{}, fmt.Errorf("vertex: reading %s: %w", uri, err))
	}
	return true
}

// decodeOutputLine parses one line of a job's output. Publisher models
// write {"instance"|"key", "predictions": [P], "status": ""}, a non-empty
// status being that item's failure (rules.BatchEmbeddingsDoc); custom
// models write {"instance"|"key", "prediction": P} and, in errors_N files,
// the instance with "error": {"code"|"status", "message"}
// (rules.CustomOutputDoc). The ID comes from "key" or from the instance's
// KeyField. isErr marks a line of an errors_N file.
func (e *Encoder) decodeOutputLine(line []byte, isErr bool) (index.Record, error) {
	var raw struct {
		Key         json.RawMessage `json:"key"`
		Instance    map[string]any  `json:"instance"`
		Prediction  json.RawMessage `json:"prediction"`
		Predictions json.RawMessage `json:"predictions"`
		Status      json.RawMessage `json:"status"`
		Error       json.RawMessage `json:"error"`
		// The KeyField of a failed instance that an errors_N file copies
		// as it was, without "instance" or "key".
		FlatID any `json:"id"`
	}
	if err := json.Unmarshal(line, &raw); err != nil {
		return index.Record{}, fmt.Errorf("%w: not a JSON object: %v", embedding.ErrBadOutput, err)
	}
	var id string
	if len(raw.Key) > 0 && string(raw.Key) != "null" {
		if err := json.Unmarshal(raw.Key, &id); err != nil {
			var num json.Number
			if json.Unmarshal(raw.Key, &num) != nil {
				return index.Record{}, fmt.Errorf("%w: key %s is not a string", embedding.ErrBadOutput, raw.Key)
			}
			id = num.String()
		}
	} else if s, ok := raw.Instance[KeyField].(string); ok {
		id = s
	} else if s, ok := raw.FlatID.(string); ok && raw.Instance == nil {
		id = s
	}
	if id == "" {
		return index.Record{}, fmt.Errorf("%w: line has no key (and no instance %q)", embedding.ErrBadOutput, KeyField)
	}
	if why := failure(raw.Status, raw.Error); why != "" || isErr {
		if why == "" {
			why = "listed in the job's errors file"
		}
		return index.Record{}, fmt.Errorf("input %q: %w: the job could not embed it: %s", id, embedding.ErrInvalidInput, why)
	}
	pred := raw.Prediction
	if len(pred) == 0 || string(pred) == "null" {
		// Publisher models: one prediction per instance, in a list.
		var list []json.RawMessage
		if len(raw.Predictions) == 0 || string(raw.Predictions) == "null" {
			return index.Record{}, fmt.Errorf("input %q: %w: the line has neither prediction nor predictions", id, embedding.ErrBadOutput)
		}
		if err := json.Unmarshal(raw.Predictions, &list); err != nil {
			return index.Record{}, fmt.Errorf("input %q: %w: predictions is not a list: %v", id, embedding.ErrBadOutput, err)
		}
		if len(list) != 1 {
			return index.Record{}, fmt.Errorf("input %q: %w: %d predictions for one instance", id, embedding.ErrBadOutput, len(list))
		}
		pred = list[0]
	}
	var p structpb.Value
	if err := p.UnmarshalJSON(pred); err != nil {
		return index.Record{}, fmt.Errorf("input %q: %w: prediction: %v", id, embedding.ErrBadOutput, err)
	}
	var field []string
	switch e.kind {
	case kindText:
		field = []string{"embeddings", "values"}
	case kindMultimodal:
		field = []string{"textEmbedding"}
		if _, ok := p.GetStructValue().GetFields()["imageEmbedding"]; ok {
			field = []string{"imageEmbedding"}
		}
	default:
		field = e.cfg.predPath
		if field == nil && p.GetListValue() == nil {
			field = []string{"embedding"}
		}
	}
	vec, err := extractVector(&p, field, e.info.Dim)
	if err != nil {
		return index.Record{}, fmt.Errorf("input %q: %w", id, err)
	}
	return index.Record{ID: id, Vector: vec}, nil
}

// failure returns why an output line reports its item failed: a non-empty
// "status" (a string, or any other non-null value) or an "error" object's
// message and code; "" when neither says so.
func failure(status, errObj json.RawMessage) string {
	var reasons []string
	if len(status) > 0 && string(status) != "null" {
		var s string
		if json.Unmarshal(status, &s) != nil {
			s = string(status)
		}
		if s = strings.TrimSpace(s); s != "" {
			reasons = append(reasons, s)
		}
	}
	if len(errObj) > 0 && string(errObj) != "null" {
		var e struct {
			Code    any    `json:"code"`
			Status  any    `json:"status"`
			Message string `json:"message"`
		}
		if json.Unmarshal(errObj, &e) != nil {
			reasons = append(reasons, string(errObj))
		} else {
			r := e.Message
			for _, c := range []any{e.Status, e.Code} {
				if c != nil && fmt.Sprint(c) != "" && fmt.Sprint(c) != "0" {
					r = strings.TrimSpace(fmt.Sprintf("%v %s", c, r))
					break
				}
			}
			if r == "" {
				r = "error " + string(errObj)
			}
			reasons = append(reasons, r)
		}
	}
	return strings.Join(reasons, "; ")
}

// EncodeAll runs a whole job: Submit, Wait, then Records. Errors of the
// first two end the stream.
func (b *BatchEncoder) EncodeAll(ctx context.Context, input, outputPrefix string) iter.Seq2[index.Record, error] {
	return func(yield func(index.Record, error) bool) {
		job, err := b.Submit(ctx, input, outputPrefix)
		if err != nil {
			yield(index.Record{}, err)
			return
		}
		if err := job.Wait(ctx); err != nil {
			yield(index.Record{}, err)
			return
		}
		for r, err := range job.Records(ctx) {
			if !yield(r, err) {
				return
			}
		}
	}
}

func splitGS(uri string) (bucket, object string, ok bool) {
	rest, ok := strings.CutPrefix(uri, "gs://")
	if !ok {
		return "", "", false
	}
	bucket, object, _ = strings.Cut(rest, "/")
	return bucket, object, bucket != ""
}
