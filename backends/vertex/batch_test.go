package vertex_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	aiplatform "cloud.google.com/go/aiplatform/apiv1"
	"cloud.google.com/go/aiplatform/apiv1/aiplatformpb"
	"github.com/fsouza/fake-gcs-server/fakestorage"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/shoalhq/shoal/backends/vertex"
	"github.com/shoalhq/shoal/backends/vertex/vertextest"
	"github.com/shoalhq/shoal/embedding"
	"github.com/shoalhq/shoal/index"
	"github.com/shoalhq/shoal/index/memory"
)

// newBatchWorld starts a GCS fake with a bucket "data" and a Vertex fake
// backed by it.
func newBatchWorld(t *testing.T, opts ...vertextest.Option) (*vertextest.Server, *fakestorage.Server) {
	t.Helper()
	gcs := fakestorage.NewServer(nil)
	t.Cleanup(gcs.Stop)
	gcs.CreateBucketWithOpts(fakestorage.CreateBucketOpts{Name: "data"})
	srv := newFake(t, append([]vertextest.Option{vertextest.WithStorage(gcs.Client()), vertextest.WithJobSteps(2)}, opts...)...)
	return srv, gcs
}

func newBatchEncoder(t *testing.T, srv *vertextest.Server, gcs *fakestorage.Server, model string, opts ...vertex.Option) *vertex.BatchEncoder {
	t.Helper()
	opts = append(opts, vertex.WithClientOptions(srv.ClientOptions()...), vertex.WithStorageClient(gcs.Client()),
		vertex.WithPollInterval(time.Millisecond, 5*time.Millisecond))
	b, err := vertex.NewBatchEncoder(context.Background(), model, opts...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close() })
	return b
}

func TestBatchEncoderTextJobIntoStore(t *testing.T) {
	t.Parallel()
	srv, gcs := newBatchWorld(t)
	b := newBatchEncoder(t, srv, gcs, textModel(), vertex.WithDimension(16), vertex.WithTaskType("RETRIEVAL_DOCUMENT"))
	ctx := context.Background()
	const n = 2500 // three output files of vertextest.OutputLinesPerFile lines
	written, err := b.WriteInputs(ctx, "gs://data/in/pool.jsonl", numbered(n))
	require.NoError(t, err)
	require.Equal(t, n, written)

	job, err := b.Submit(ctx, "gs://data/in/pool.jsonl", "gs://data/out")
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(job.Name(), "projects/p/locations/us-central1/batchPredictionJobs/"), job.Name())
	require.NoError(t, job.Wait(ctx))
	assert.True(t, strings.HasPrefix(job.OutputDirectory(), "gs://data/out/prediction-text-embedding-005-"), job.OutputDirectory())

	seen := map[string]bool{}
	for r, err := range job.Records(ctx) {
		require.NoError(t, err)
		require.False(t, seen[r.ID], "duplicate %s", r.ID)
		seen[r.ID] = true
		require.Equal(t, vertextest.Vector("text:"+r.ID, 16), r.Vector, r.ID)
	}
	assert.Len(t, seen, n)

	// The stream drops into index.UpsertAll as it is.
	store, err := memory.New()
	require.NoError(t, err)
	defer store.Close()
	up, err := index.UpsertAll(ctx, store, b.Info().Model, job.Records(ctx))
	require.NoError(t, err)
	assert.Equal(t, n, up)
	got, err := store.Fetch(ctx, b.Info().Model, []string{"item-0001234"})
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.Equal(t, vertextest.Vector("text:item-0001234", 16), got[0].Vector)
}

func TestBatchEncoderMultimodalAndBigQuery(t *testing.T) {
	t.Parallel()
	srv, gcs := newBatchWorld(t)
	b := newBatchEncoder(t, srv, gcs, multimodalModel(), vertex.WithDimension(128))
	ctx := context.Background()
	img := pngBytes(t, 5)
	in := []embedding.Input{{ID: "bytes", Image: img}, {ID: "uri", URI: "gs://data/img/cat.png"}, {ID: "text", Text: "a cat"}}
	_, err := b.WriteInputs(ctx, "gs://data/mm.jsonl", embedding.Inputs(in))
	require.NoError(t, err)
	got := map[string][]float32{}
	for r, err := range b.EncodeAll(ctx, "gs://data/mm.jsonl", "gs://data/mm-out/") {
		require.NoError(t, err)
		got[r.ID] = r.Vector
	}
	assert.Equal(t, map[string][]float32{
		"bytes": vertextest.Vector(vertextest.ImageKey(img), 128),
		"uri":   vertextest.Vector("uri:gs://data/img/cat.png", 128),
		"text":  vertextest.Vector("text:a cat", 128),
	}, got)

	srv.AddBigQueryTable("bq://p.ds.pool", []map[string]any{{"id": "r1", "text": "row one"}, {"id": "r2", "text": "row two"}})
	got = map[string][]float32{}
	for r, err := range b.EncodeAll(ctx, "bq://p.ds.pool", "gs://data/bq-out") {
		require.NoError(t, err)
		got[r.ID] = r.Vector
	}
	assert.Equal(t, map[string][]float32{"r1": vertextest.Vector("text:row one", 128), "r2": vertextest.Vector("text:row two", 128)}, got)
}

func TestBatchEncoderMalformedAndFailedLines(t *testing.T) {
	t.Parallel()
	srv, gcs := newBatchWorld(t)
	b := newBatchEncoder(t, srv, gcs, textModel(), vertex.WithDimension(8))
	srv.Malform(func(in any) vertextest.Malformation {
		if vertextest.Key(in) == "text:item-0000042" {
			return vertextest.WrongDimension
		}
		return vertextest.WellFormed
	})
	ctx := context.Background()
	_, err := b.WriteInputs(ctx, "gs://data/in.jsonl", numbered(100))
	require.NoError(t, err)
	ok := 0
	var errs []error
	for _, err := range b.EncodeAll(ctx, "gs://data/in.jsonl", "gs://data/out") {
		if err != nil {
			errs = append(errs, err)
			continue
		}
		ok++
	}
	assert.Equal(t, 99, ok, "the other lines still come through")
	require.Len(t, errs, 1)
	assert.ErrorIs(t, errs[0], embedding.ErrBadOutput)
	assert.Contains(t, errs[0].Error(), `"item-0000042"`)
	assert.Contains(t, errs[0].Error(), "has 7 values, want 8")
}

func TestBatchEncoderRejectsBadInputs(t *testing.T) {
	t.Parallel()
	srv, gcs := newBatchWorld(t)
	b := newBatchEncoder(t, srv, gcs, textModel(), vertex.WithDimension(8))
	ctx := context.Background()
	for name, tc := range map[string]struct {
		in   []embedding.Input
		want string
	}{
		"duplicate": {[]embedding.Input{{ID: "a", Text: "x"}, {ID: "a", Text: "y"}}, `"a": embedding: invalid input: ID given twice`},
		"empty id":  {[]embedding.Input{{Text: "x"}}, "input 0"},
		"no text":   {[]embedding.Input{{ID: "img", Image: []byte{1, 2}}}, `"img"`},
	} {
		_, err := b.WriteInputs(ctx, "gs://data/bad-"+name+".jsonl", embedding.Inputs(tc.in))
		require.Error(t, err, name)
		assert.ErrorIs(t, err, embedding.ErrInvalidInput, name)
		assert.Contains(t, err.Error(), tc.want, name)
		_, serr := gcs.GetObject("data", "bad-"+name+".jsonl")
		assert.Error(t, serr, "%s: nothing is committed", name)
	}
	_, err := b.Submit(ctx, "s3://x/y", "gs://data/out")
	assert.ErrorIs(t, err, embedding.ErrInvalidOption)
	_, err = b.Submit(ctx, "gs://data/x", "/tmp/out")
	assert.ErrorIs(t, err, embedding.ErrInvalidOption)
	_, err = vertex.NewBatchEncoder(ctx, vertex.Endpoint(project, location, "1"), vertex.WithDimension(8))
	assert.ErrorIs(t, err, embedding.ErrInvalidOption, "batch prediction takes models, not endpoints")
}

func TestBatchJobFails(t *testing.T) {
	t.Parallel()
	srv, gcs := newBatchWorld(t)
	b := newBatchEncoder(t, srv, gcs, textModel(), vertex.WithDimension(8))
	ctx := context.Background()
	_, err := b.WriteInputs(ctx, "gs://data/in.jsonl", numbered(10))
	require.NoError(t, err)
	srv.FailJobs("quota exceeded for aiplatform.googleapis.com/batch_prediction_jobs")
	n := 0
	var last error
	for _, err := range b.EncodeAll(ctx, "gs://data/in.jsonl", "gs://data/out") {
		if err != nil {
			last = err
		} else {
			n++
		}
	}
	assert.Zero(t, n)
	require.ErrorIs(t, last, vertex.ErrJobFailed)
	assert.Contains(t, last.Error(), "quota exceeded")
	assert.Contains(t, last.Error(), "FAILED")

	// A missing input object fails the job too.
	srv.FailJobs("")
	for _, err := range b.EncodeAll(ctx, "gs://data/missing.jsonl", "gs://data/out") {
		last = err
	}
	assert.ErrorIs(t, last, vertex.ErrJobFailed)
	assert.Contains(t, last.Error(), "missing.jsonl")
}

func TestBatchJobCancelled(t *testing.T) {
	t.Parallel()
	srv, gcs := newBatchWorld(t)
	srv.HoldJobs(true)
	b := newBatchEncoder(t, srv, gcs, textModel(), vertex.WithDimension(8))
	_, err := b.WriteInputs(context.Background(), "gs://data/in.jsonl", numbered(10))
	require.NoError(t, err)

	t.Run("context cancelled cancels the job", func(t *testing.T) {
		job, err := b.Submit(context.Background(), "gs://data/in.jsonl", "gs://data/out")
		require.NoError(t, err)
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		err = job.Wait(ctx)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Contains(t, err.Error(), "job cancelled")
		assert.Contains(t, srv.JobRequests(), "CancelBatchPredictionJob "+job.Name())
		// The service moves it through CANCELLING to CANCELLED.
		assert.ErrorIs(t, job.Wait(context.Background()), vertex.ErrJobCancelled)
	})
	t.Run("deadline noticed by the transport first", func(t *testing.T) {
		// The transport may see a passed deadline before the context's
		// timer fires; the job must be cancelled all the same.
		job, err := b.Submit(context.Background(), "gs://data/in.jsonl", "gs://data/out")
		require.NoError(t, err)
		err = job.Wait(pastDeadline{context.Background()})
		require.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Contains(t, err.Error(), "job cancelled")
		assert.Contains(t, srv.JobRequests(), "CancelBatchPredictionJob "+job.Name())
	})
	t.Run("cancelled by someone else", func(t *testing.T) {
		job, err := b.Submit(context.Background(), "gs://data/in.jsonl", "gs://data/out")
		require.NoError(t, err)
		other, err := aiplatform.NewJobClient(context.Background(), srv.ClientOptions()...)
		require.NoError(t, err)
		defer other.Close()
		require.NoError(t, other.CancelBatchPredictionJob(context.Background(), &aiplatformpb.CancelBatchPredictionJobRequest{Name: job.Name()}))
		err = job.Wait(context.Background())
		assert.ErrorIs(t, err, vertex.ErrJobCancelled)
		n := 0
		for _, err := range job.Records(context.Background()) {
			assert.ErrorIs(t, err, index.ErrNotFound)
			n++
		}
		assert.Equal(t, 1, n)
	})
}

func TestBatchJobPollRetriesTransientErrors(t *testing.T) {
	t.Parallel()
	srv, gcs := newBatchWorld(t)
	b := newBatchEncoder(t, srv, gcs, textModel(), vertex.WithDimension(8))
	ctx := context.Background()
	_, err := b.WriteInputs(ctx, "gs://data/in.jsonl", numbered(5))
	require.NoError(t, err)

	job, err := b.Submit(ctx, "gs://data/in.jsonl", "gs://data/out")
	require.NoError(t, err)
	srv.FailJobCalls(3, status.Error(codes.Unavailable, "backend restarting"))
	require.NoError(t, job.Wait(ctx), "Unavailable polls are retried")
	n := 0
	for _, err := range job.Records(ctx) {
		require.NoError(t, err)
		n++
	}
	assert.Equal(t, 5, n)

	job, err = b.Submit(ctx, "gs://data/in.jsonl", "gs://data/out2")
	require.NoError(t, err)
	srv.FailJobCalls(1, status.Error(codes.PermissionDenied, "caller lacks aiplatform.batchPredictionJobs.get"))
	err = job.Wait(ctx)
	assert.ErrorIs(t, err, index.ErrUnauthenticated, "a permanent error ends the wait")
	assert.False(t, embedding.IsRetryable(err))

	srv.FailJobCalls(1, status.Error(codes.ResourceExhausted, "too many jobs"))
	_, err = b.Submit(ctx, "gs://data/in.jsonl", "gs://data/out3")
	assert.ErrorIs(t, err, index.ErrResourceExhausted)
	assert.True(t, embedding.IsRetryable(err), "creating a job over quota may be retried by the caller")
}

// pastDeadline is a context whose deadline has passed but whose Done
// channel has not closed yet: the moment between a deadline and the
// context's timer firing.
type pastDeadline struct{ context.Context }

func (pastDeadline) Deadline() (time.Time, bool) { return time.Now().Add(-time.Second), true }

// TestBatchPublisherFailedItems checks that a publisher model's per-item
// failure (a line with a non-empty "status") is that item's error, with
// the service's reason, while the other items come through.
func TestBatchPublisherFailedItems(t *testing.T) {
	t.Parallel()
	srv, gcs := newBatchWorld(t)
	b := newBatchEncoder(t, srv, gcs, textModel(), vertex.WithDimension(8))
	ctx := context.Background()
	srv.AddBigQueryTable("bq://p.ds.mixed", []map[string]any{{"id": "ok", "content": "fine"}, {"id": "bad", "text": "no content field"}})
	got := map[string][]float32{}
	var errs []error
	for r, err := range b.EncodeAll(ctx, "bq://p.ds.mixed", "gs://data/mixed-out") {
		if err != nil {
			errs = append(errs, err)
			continue
		}
		got[r.ID] = r.Vector
	}
	assert.Equal(t, map[string][]float32{"ok": vertextest.Vector("text:fine", 8)}, got)
	require.Len(t, errs, 1)
	assert.ErrorIs(t, errs[0], embedding.ErrInvalidInput)
	assert.Contains(t, errs[0].Error(), `input "bad"`)
	assert.Contains(t, errs[0].Error(), "missing content")
}

// TestBatchCustomModel runs a job on a Model Registry model, whose output
// is the custom-model format {"key", "prediction"}.
func TestBatchCustomModel(t *testing.T) {
	t.Parallel()
	srv, gcs := newBatchWorld(t)
	model := srv.AddModel(project, location, 8)
	b := newBatchEncoder(t, srv, gcs, model, vertex.WithDimension(8))
	ctx := context.Background()
	_, err := b.WriteInputs(ctx, "gs://data/custom.jsonl", numbered(20))
	require.NoError(t, err)
	n := 0
	for r, err := range b.EncodeAll(ctx, "gs://data/custom.jsonl", "gs://data/custom-out") {
		require.NoError(t, err)
		assert.Equal(t, vertextest.Vector("text:"+r.ID, 8), r.Vector)
		n++
	}
	assert.Equal(t, 20, n)
}

// TestBatchJobLimits checks the documented limits of text-embedding batch
// jobs ("Get batch text embeddings predictions"): gemini-embedding-001
// takes none, and a job takes at most 30,000 prompts.
func TestBatchJobLimits(t *testing.T) {
	t.Parallel()
	srv, gcs := newBatchWorld(t)
	ctx := context.Background()

	_, err := vertex.NewBatchEncoder(ctx, vertex.PublisherModel(project, location, vertex.GeminiEmbedding001),
		vertex.WithClientOptions(srv.ClientOptions()...), vertex.WithStorageClient(gcs.Client()))
	require.ErrorIs(t, err, vertex.ErrInvalidOption)
	assert.Contains(t, err.Error(), "gemini-embedding-001 does not take batch prediction jobs")
	// The fake answers as the service does.
	jobs, err := aiplatform.NewJobClient(ctx, srv.ClientOptions()...)
	require.NoError(t, err)
	defer jobs.Close()
	_, err = jobs.CreateBatchPredictionJob(ctx, &aiplatformpb.CreateBatchPredictionJobRequest{Parent: "projects/p/locations/us-central1",
		BatchPredictionJob: &aiplatformpb.BatchPredictionJob{DisplayName: "j", Model: vertex.PublisherModel(project, location, vertex.GeminiEmbedding001),
			InputConfig:  &aiplatformpb.BatchPredictionJob_InputConfig{InstancesFormat: "jsonl", Source: &aiplatformpb.BatchPredictionJob_InputConfig_GcsSource{GcsSource: &aiplatformpb.GcsSource{Uris: []string{"gs://data/x"}}}},
			OutputConfig: &aiplatformpb.BatchPredictionJob_OutputConfig{PredictionsFormat: "jsonl", Destination: &aiplatformpb.BatchPredictionJob_OutputConfig_GcsDestination{GcsDestination: &aiplatformpb.GcsDestination{OutputUriPrefix: "gs://data/o"}}}}})
	assert.Equal(t, codes.InvalidArgument, status.Code(err))
	assert.Contains(t, status.Convert(err).Message(), "Do not support publisher model gemini-embedding-001")

	b := newBatchEncoder(t, srv, gcs, textModel(), vertex.WithDimension(8))
	_, err = b.WriteInputs(ctx, "gs://data/big.jsonl", numbered(30_001))
	require.ErrorIs(t, err, embedding.ErrInvalidInput)
	assert.Contains(t, err.Error(), `input "item-0030000"`)
	assert.Contains(t, err.Error(), "at most 30000 inputs")
	_, serr := gcs.GetObject("data", "big.jsonl")
	assert.Error(t, serr, "nothing is committed")
	n, err := b.WriteInputs(ctx, "gs://data/full.jsonl", numbered(30_000))
	require.NoError(t, err)
	assert.Equal(t, 30_000, n)

	// A bigger source the package did not write fails the job, as a
	// service over its limit does.
	rows := make([]map[string]any, 30_001)
	for i := range rows {
		rows[i] = map[string]any{"id": fmt.Sprint(i), "content": "x"}
	}
	srv.AddBigQueryTable("bq://p.ds.big", rows)
	var last error
	for _, err := range b.EncodeAll(ctx, "bq://p.ds.big", "gs://data/big-out") {
		last = err
	}
	require.ErrorIs(t, last, vertex.ErrJobFailed)
	assert.Contains(t, last.Error(), "at most 30000")
}
