package vertex_test

import (
	"context"
	"fmt"
	"iter"
	"log"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/fsouza/fake-gcs-server/fakestorage"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shoalhq/shoal/backends/vertex"
	"github.com/shoalhq/shoal/backends/vertex/vertextest"
	"github.com/shoalhq/shoal/embedding"
	"github.com/shoalhq/shoal/index"
	"github.com/shoalhq/shoal/index/ingest"
	"github.com/shoalhq/shoal/index/memory"
)

// pool is n text items with a metadata field, as a source.
func pool(n int) []embedding.Input {
	in := make([]embedding.Input, n)
	for i := range in {
		id := fmt.Sprintf("item-%05d", i)
		in[i] = embedding.Input{ID: id, Text: "text of " + id, Metadata: map[string]any{"n": i}}
	}
	return in
}

// creates counts the CreateBatchPredictionJob calls the fake served.
func creates(srv *vertextest.Server) int {
	n := 0
	for _, r := range srv.JobRequests() {
		if strings.HasPrefix(r, "CreateBatchPredictionJob ") {
			n++
		}
	}
	return n
}

// requireIndexed checks that ns holds exactly in, each with the fake's
// vector for its text and Run's metadata.
func requireIndexed(t *testing.T, store index.VectorStore, ns, model string, dim int, in []embedding.Input) {
	t.Helper()
	ctx := context.Background()
	n, err := index.Count(ctx, store, ns)
	require.NoError(t, err)
	require.Equal(t, len(in), n)
	ids := make([]string, len(in))
	for i, x := range in {
		ids[i] = x.ID
	}
	recs, err := store.Fetch(ctx, ns, ids)
	require.NoError(t, err)
	require.Len(t, recs, len(in))
	byID := map[string]index.Record{}
	for _, r := range recs {
		byID[r.ID] = r
	}
	for _, x := range in {
		r := byID[x.ID]
		require.Equal(t, vertextest.Vector("text:"+x.Text, dim), r.Vector, x.ID)
		require.EqualValues(t, x.Metadata["n"], r.Metadata["n"], x.ID)
		require.Equal(t, model, r.Metadata[ingest.KeyModel], x.ID)
		require.NotEmpty(t, r.Metadata[ingest.KeyContent], x.ID)
		require.NotEmpty(t, r.Metadata[ingest.KeyHash], x.ID)
	}
}

func batchPlan(t *testing.T) ingest.BatchPlan {
	return ingest.BatchPlan{Input: "gs://data/ingest/in.jsonl", Output: "gs://data/ingest/out", State: filepath.Join(t.TempDir(), "job.json")}
}

func TestIngestRunBatchIndexesAndSkipsWhatIsIndexed(t *testing.T) {
	t.Parallel()
	srv, gcs := newBatchWorld(t)
	b := newBatchEncoder(t, srv, gcs, textModel(), vertex.WithDimension(16))
	store, err := memory.New()
	require.NoError(t, err)
	defer store.Close()
	ctx := context.Background()
	plan := batchPlan(t)
	in := pool(300)

	sum, err := ingest.RunBatch(ctx, b.Ingest(), store, "pool", embedding.Inputs(in), plan, ingest.WithBatchSize(50))
	require.NoError(t, err)
	assert.Equal(t, 300, sum.Read)
	assert.Equal(t, 300, sum.Written)
	assert.Equal(t, 300, sum.Encoded)
	assert.Equal(t, 1, sum.EncodeCalls, "one job")
	assert.Equal(t, 1, creates(srv))
	requireIndexed(t, store, "pool", b.Info().Model, 16, in)
	assert.NoFileExists(t, plan.State, "removed once the job is in the store")

	// A rerun over an edited source: one changed text, one new item, one
	// new metadata value; the rest is skipped by the fetch.
	in[7].Text = "changed"
	in[8].Metadata = map[string]any{"n": 1000}
	in = append(in, embedding.Input{ID: "item-new", Text: "new", Metadata: map[string]any{"n": -1}})
	sum, err = ingest.RunBatch(ctx, b.Ingest(), store, "pool", embedding.Inputs(in), plan, ingest.WithBatchSize(50))
	require.NoError(t, err)
	assert.Equal(t, 301, sum.Read)
	assert.Equal(t, 298, sum.Unchanged)
	assert.Equal(t, 3, sum.Written)
	assert.Equal(t, 2, sum.Encoded, "the changed text and the new item")
	assert.Equal(t, 2, creates(srv))
	requireIndexed(t, store, "pool", b.Info().Model, 16, in)

	// Nothing left to encode: no job.
	sum, err = ingest.RunBatch(ctx, b.Ingest(), store, "pool", embedding.Inputs(in), plan)
	require.NoError(t, err)
	assert.Equal(t, 301, sum.Unchanged)
	assert.Equal(t, 2, creates(srv))
}

func TestIngestRunBatchSplitsJobsAtMaxItems(t *testing.T) {
	t.Parallel()
	srv, gcs := newBatchWorld(t)
	b := newBatchEncoder(t, srv, gcs, textModel(), vertex.WithDimension(8))
	store, err := memory.New()
	require.NoError(t, err)
	defer store.Close()
	plan := batchPlan(t)
	plan.MaxItems = 40
	in := pool(100)
	sum, err := ingest.RunBatch(context.Background(), b.Ingest(), store, "pool", embedding.Inputs(in), plan, ingest.WithBatchSize(16))
	require.NoError(t, err)
	assert.Equal(t, 100, sum.Encoded)
	assert.Equal(t, 3, sum.EncodeCalls)
	assert.Equal(t, 3, creates(srv))
	requireIndexed(t, store, "pool", b.Info().Model, 8, in)
}

// crashing wraps a batch encoder so that the process "dies" (the
// goroutine exits, running nothing more of RunBatch) at a chosen point of
// its first job: before Wait, or after reading half the output.
type crashing struct {
	ingest.BatchEncoder
	afterRecords int // -1: die before Wait
}

func (c crashing) SubmitJob(ctx context.Context, input, output string) (ingest.BatchJob, error) {
	j, err := c.BatchEncoder.SubmitJob(ctx, input, output)
	if err != nil {
		return nil, err
	}
	return crashingJob{j, c.afterRecords}, nil
}

type crashingJob struct {
	ingest.BatchJob
	afterRecords int
}

func (j crashingJob) Wait(ctx context.Context) error {
	if j.afterRecords < 0 {
		runtime.Goexit()
	}
	return j.BatchJob.Wait(ctx)
}

func (j crashingJob) Records(ctx context.Context) iter.Seq2[index.Record, error] {
	return func(yield func(index.Record, error) bool) {
		n := 0
		for r, err := range j.BatchJob.Records(ctx) {
			if n == j.afterRecords {
				runtime.Goexit()
			}
			n++
			if !yield(r, err) {
				return
			}
		}
	}
}

func TestIngestRunBatchResumesTheSubmittedJob(t *testing.T) {
	t.Parallel()
	for name, after := range map[string]int{"before wait": -1, "mid upsert": 120} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv, gcs := newBatchWorld(t)
			b := newBatchEncoder(t, srv, gcs, textModel(), vertex.WithDimension(8))
			store, err := memory.New()
			require.NoError(t, err)
			defer store.Close()
			ctx := context.Background()
			plan := batchPlan(t)
			in := pool(250)

			done := make(chan struct{})
			go func() {
				defer close(done)
				_, _ = ingest.RunBatch(ctx, crashing{b.Ingest(), after}, store, "pool", embedding.Inputs(in), plan, ingest.WithBatchSize(50))
				t.Error("RunBatch returned; the crash did not happen")
			}()
			<-done
			require.FileExists(t, plan.State, "the job is named in the state file")
			require.Equal(t, 1, creates(srv))
			raw, err := os.ReadFile(plan.State)
			require.NoError(t, err)
			assert.Contains(t, string(raw), "batchPredictionJobs/")

			sum, err := ingest.RunBatch(ctx, b.Ingest(), store, "pool", embedding.Inputs(in), plan, ingest.WithBatchSize(50))
			require.NoError(t, err)
			assert.Equal(t, 1, creates(srv), "the rerun resumed the job instead of submitting again")
			assert.Equal(t, 0, sum.EncodeCalls)
			assert.Equal(t, 250, sum.Written+sum.Unchanged)
			assert.Equal(t, 0, sum.Failed)
			if after > 0 {
				assert.GreaterOrEqual(t, sum.Unchanged, 100, "records upserted before the crash are skipped by the fetch")
			}
			requireIndexed(t, store, "pool", b.Info().Model, 8, in)
			assert.NoFileExists(t, plan.State)
		})
	}
}

func TestIngestRunBatchResumeTakesOnlyUnchangedItems(t *testing.T) {
	t.Parallel()
	srv, gcs := newBatchWorld(t)
	b := newBatchEncoder(t, srv, gcs, textModel(), vertex.WithDimension(8))
	store, err := memory.New()
	require.NoError(t, err)
	defer store.Close()
	ctx := context.Background()
	plan := batchPlan(t)
	in := pool(60)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = ingest.RunBatch(ctx, crashing{b.Ingest(), -1}, store, "pool", embedding.Inputs(in), plan)
	}()
	<-done
	// The source changed while the job ran: the job's vector for item 3 is
	// stale, and item-new is not in it.
	in[3].Text = "edited after submit"
	in = append(in, embedding.Input{ID: "item-new", Text: "new", Metadata: map[string]any{"n": 99}})
	sum, err := ingest.RunBatch(ctx, b.Ingest(), store, "pool", embedding.Inputs(in), plan)
	require.NoError(t, err)
	assert.Equal(t, 1, sum.EncodeCalls, "one new job, for the two items the resumed one does not cover")
	assert.Equal(t, 2, creates(srv))
	assert.Equal(t, 61, sum.Encoded)
	requireIndexed(t, store, "pool", b.Info().Model, 8, in)
}

func TestIngestRunBatchResubmitsACancelledJob(t *testing.T) {
	t.Parallel()
	srv, gcs := newBatchWorld(t)
	b := newBatchEncoder(t, srv, gcs, textModel(), vertex.WithDimension(8))
	store, err := memory.New()
	require.NoError(t, err)
	defer store.Close()
	plan := batchPlan(t)
	in := pool(20)
	srv.HoldJobs(true)
	ctx, cancel := context.WithCancel(context.Background())
	srv.OnJobCall(func(method, name string) {
		if method == "GetBatchPredictionJob" {
			cancel() // the caller gives up while the job runs: Wait cancels it
		}
	})
	_, err = ingest.RunBatch(ctx, b.Ingest(), store, "pool", embedding.Inputs(in), plan)
	require.ErrorIs(t, err, context.Canceled)
	require.FileExists(t, plan.State)
	srv.OnJobCall(nil)
	srv.HoldJobs(false)

	sum, err := ingest.RunBatch(context.Background(), b.Ingest(), store, "pool", embedding.Inputs(in), plan)
	require.NoError(t, err)
	assert.Equal(t, 2, creates(srv), "the cancelled job is replaced by a new one")
	assert.Equal(t, 20, sum.Encoded)
	requireIndexed(t, store, "pool", b.Info().Model, 8, in)
}

func TestIngestRunBatchDeadLetters(t *testing.T) {
	t.Parallel()
	srv, gcs := newBatchWorld(t)
	b := newBatchEncoder(t, srv, gcs, textModel(), vertex.WithDimension(8))
	store, err := memory.New()
	require.NoError(t, err)
	defer store.Close()
	srv.SetMaxRequestTokens(200)
	srv.Malform(func(in any) vertextest.Malformation {
		if vertextest.Key(in) == "text:text of item-00005" {
			return vertextest.WrongDimension
		}
		return vertextest.WellFormed
	})
	in := pool(30)
	in[12].Text = strings.Repeat("long words ", 400) // over the fake's 200 tokens a request
	var letters []ingest.DeadLetter
	sum, err := ingest.RunBatch(context.Background(), b.Ingest(), store, "pool", embedding.Inputs(in), batchPlan(t),
		ingest.WithDeadLetters(func(d ingest.DeadLetter) { letters = append(letters, d) }))
	require.NoError(t, err, "dead letters do not fail the run")
	assert.Equal(t, 28, sum.Written)
	assert.Equal(t, 2, sum.Failed)
	require.Len(t, letters, 2)
	byID := map[string]ingest.DeadLetter{}
	for _, d := range letters {
		byID[d.ID] = d
		assert.Equal(t, ingest.StageEncode, d.Stage)
	}
	long := byID["item-00012"]
	require.Error(t, long.Err)
	assert.ErrorIs(t, long.Err, embedding.ErrInvalidInput)
	assert.Contains(t, long.Err.Error(), "token", "the service's reason")
	bad := byID["item-00005"]
	require.Error(t, bad.Err)
	assert.ErrorIs(t, bad.Err, embedding.ErrBadOutput)
	n, err := index.Count(context.Background(), store, "pool")
	require.NoError(t, err)
	assert.Equal(t, 28, n)
}

func TestBatchEncoderJobRefusesForeignNames(t *testing.T) {
	t.Parallel()
	srv, gcs := newBatchWorld(t)
	b := newBatchEncoder(t, srv, gcs, textModel(), vertex.WithDimension(8))
	for _, name := range []string{"", "jobs/1", "projects/other/locations/us-central1/batchPredictionJobs/1",
		"projects/p/locations/us-central1/batchPredictionJobs/", "projects/p/locations/us-central1/batchPredictionJobs/1/x"} {
		_, err := b.Job(name)
		assert.ErrorIs(t, err, embedding.ErrInvalidOption, name)
	}
	j, err := b.Job("projects/p/locations/us-central1/batchPredictionJobs/77")
	require.NoError(t, err)
	assert.ErrorIs(t, j.Wait(context.Background()), index.ErrNotFound)
}

// Index a pool with batch prediction jobs, resumably: a rerun after a
// crash waits for the job named in the state file instead of submitting
// another, and skips what is already in the store.
func ExampleBatchEncoder_Ingest() {
	ctx := context.Background()
	gcs := fakestorage.NewServer(nil) // Cloud Storage; in production storage.NewClient
	defer gcs.Stop()
	gcs.CreateBucketWithOpts(fakestorage.CreateBucketOpts{Name: "my-bucket"})
	srv, err := vertextest.NewServer(vertextest.WithStorage(gcs.Client()))
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	b, err := vertex.NewBatchEncoder(ctx, vertex.PublisherModel("my-project", "us-central1", vertex.TextEmbedding005),
		vertex.WithDimension(64), vertex.WithStorageClient(gcs.Client()),
		vertex.WithPollInterval(time.Millisecond, 10*time.Millisecond), // default 5s..1m
		vertex.WithClientOptions(srv.ClientOptions()...))
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()
	store, err := memory.New()
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	dir, err := os.MkdirTemp("", "ingest")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	plan := ingest.BatchPlan{
		Input:    "gs://my-bucket/jobs/pool.jsonl",
		Output:   "gs://my-bucket/jobs/out",
		State:    filepath.Join(dir, "pool-job.json"),
		MaxItems: 30000, // a text-embedding job takes at most 30,000 inputs
	}
	pool := embedding.Inputs([]embedding.Input{
		{ID: "doc-1", Text: "red running shoes", Metadata: map[string]any{"lang": "en"}},
		{ID: "doc-2", Text: "blue denim jacket", Metadata: map[string]any{"lang": "en"}},
	})
	sum, err := ingest.RunBatch(ctx, b.Ingest(), store, "docs", pool, plan)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("jobs", sum.EncodeCalls, "written", sum.Written, "failed", sum.Failed)
	// Output:
	// jobs 1 written 2 failed 0
}
