package ingest_test

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shoalhq/shoal/embedding"
	"github.com/shoalhq/shoal/index"
	"github.com/shoalhq/shoal/index/ingest"
)

// fakeBatch is an ingest.BatchEncoder in memory: a job embeds the inputs
// written at its input as fakeEncoder does; an input whose text starts
// with "bad" fails (an *index.ItemError), and failJobs makes Wait fail.
// backends/vertex tests RunBatch against the Vertex AI fake.
type fakeBatch struct {
	enc      *fakeEncoder
	mu       sync.Mutex
	files    map[string][]embedding.Input
	jobs     map[string][]embedding.Input
	submits  int
	failJobs bool
}

func newFakeBatch(dim int) *fakeBatch {
	return &fakeBatch{enc: newEncoder(dim), files: map[string][]embedding.Input{}, jobs: map[string][]embedding.Input{}}
}

func (f *fakeBatch) Info() embedding.Info { return f.enc.Info() }

func (f *fakeBatch) WriteInputs(_ context.Context, uri string, in iter.Seq2[embedding.Input, error]) (int, error) {
	var all []embedding.Input
	for x, err := range in {
		if err != nil {
			return 0, err
		}
		all = append(all, x)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.files[uri] = all
	return len(all), nil
}

func (f *fakeBatch) SubmitJob(_ context.Context, input, _ string) (ingest.BatchJob, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.submits++
	name := fmt.Sprintf("jobs/%d", f.submits)
	f.jobs[name] = f.files[input]
	return fakeJob{f, name}, nil
}

func (f *fakeBatch) ResumeJob(_ context.Context, name string) (ingest.BatchJob, error) {
	return fakeJob{f, name}, nil
}

type fakeJob struct {
	f    *fakeBatch
	name string
}

func (j fakeJob) Name() string { return j.name }

func (j fakeJob) Wait(context.Context) error {
	j.f.mu.Lock()
	defer j.f.mu.Unlock()
	if j.f.failJobs {
		return errors.New("job failed: quota")
	}
	if _, ok := j.f.jobs[j.name]; !ok {
		return fmt.Errorf("%w: job %s", index.ErrNotFound, j.name)
	}
	return nil
}

func (j fakeJob) Records(context.Context) iter.Seq2[index.Record, error] {
	return func(yield func(index.Record, error) bool) {
		j.f.mu.Lock()
		in := j.f.jobs[j.name]
		j.f.mu.Unlock()
		for _, x := range in {
			if strings.HasPrefix(x.Text, "bad") {
				if !yield(index.Record{}, &index.ItemError{Index: -1, ID: x.ID, Err: fmt.Errorf("%w: text over the limit", embedding.ErrInvalidInput)}) {
					return
				}
				continue
			}
			if !yield(index.Record{ID: x.ID, Vector: vectorOf(j.f.enc.model, x.Text, j.f.enc.dim)}, nil) {
				return
			}
		}
	}
}

func testPlan(t *testing.T) ingest.BatchPlan {
	return ingest.BatchPlan{Input: "mem://in", Output: "mem://out", State: filepath.Join(t.TempDir(), "job.json")}
}

func TestRunBatchRefusesBadArguments(t *testing.T) {
	plan := testPlan(t)
	fb := newFakeBatch(4)
	for name, tc := range map[string]struct {
		enc  ingest.BatchEncoder
		plan ingest.BatchPlan
		opts []ingest.Option
		want string
	}{
		"nil encoder":      {nil, plan, nil, "nil batch encoder"},
		"no state":         {fb, ingest.BatchPlan{Input: "a", Output: "b"}, nil, "want Input, Output and State"},
		"negative max":     {fb, ingest.BatchPlan{Input: "a", Output: "b", State: "c", MaxItems: -1}, nil, "MaxItems -1"},
		"checkpoint":       {fb, plan, []ingest.Option{ingest.WithCheckpoint("x")}, "WithCheckpoint does not apply"},
		"encoder rate":     {fb, plan, []ingest.Option{ingest.WithEncoderRate(1, 0)}, "WithEncoderRate does not apply"},
		"remove missing":   {fb, plan, []ingest.Option{ingest.WithRemoveMissing()}, "WithRemoveMissing does not apply"},
		"bad batch size":   {fb, plan, []ingest.Option{ingest.WithBatchSize(0)}, "WithBatchSize(0)"},
		"bad namespace":    {fb, plan, nil, "NUL byte"},
		"common option ok": {fb, plan, []ingest.Option{ingest.WithTotal(3)}, "-"},
	} {
		t.Run(name, func(t *testing.T) {
			store := newStore(t)
			namespace := ns
			if name == "bad namespace" {
				namespace = "a\x00b"
			}
			_, err := ingest.RunBatch(context.Background(), tc.enc, store, namespace, embedding.Inputs(items(3, "v1")), tc.plan, tc.opts...)
			if tc.want == "-" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			if name != "bad namespace" {
				assert.ErrorIs(t, err, ingest.ErrInvalidOption)
			}
			assert.Contains(t, err.Error(), tc.want)
			assert.Equal(t, 1, strings.Count(err.Error(), "ingest:"), "package named once: %v", err)
		})
	}
}

func TestRunBatchDuplicatesEmptyAndDeadLetters(t *testing.T) {
	ctx := context.Background()
	store := newStore(t)
	fb := newFakeBatch(4)
	sum, err := ingest.RunBatch(ctx, fb, store, ns, embedding.Inputs(nil), testPlan(t))
	require.NoError(t, err)
	assert.Equal(t, ingest.Summary{Elapsed: sum.Elapsed}, sum, "an empty source: a zero summary")
	assert.Equal(t, 0, fb.submits)

	in := items(10, "v1")
	in[4].Text = "bad input"
	in = append(in, embedding.Input{ID: in[2].ID, Text: "second wins", Metadata: map[string]any{"n": int64(2)}})
	sum, err = ingest.RunBatch(ctx, fb, store, ns, embedding.Inputs(in), testPlan(t), ingest.WithBatchSize(4))
	require.NoError(t, err)
	assert.Equal(t, 11, sum.Read)
	assert.Equal(t, 9, sum.Written)
	assert.Equal(t, 1, sum.Failed)
	assert.Equal(t, 1, sum.Duplicates)
	assert.Equal(t, 1, sum.Superseded)
	require.Len(t, sum.DeadLetters, 1)
	assert.Equal(t, in[4].ID, sum.DeadLetters[0].ID)
	assert.Equal(t, ingest.StageEncode, sum.DeadLetters[0].Stage)
	assert.ErrorIs(t, sum.DeadLetters[0].Err, embedding.ErrInvalidInput)
	assert.Equal(t, 1, fb.submits)
	want := append(append([]embedding.Input{}, in[:4]...), in[5:]...)
	requireStoreHolds(t, store, ns, fb.enc, want)
}

func TestRunBatchStateOfAnotherJobIsRefused(t *testing.T) {
	ctx := context.Background()
	plan := testPlan(t)
	require.NoError(t, os.WriteFile(plan.State, []byte(`{"version":1,"namespace":"other","model":"fake/enc v1","input":"mem://in","output":"mem://out","job":"jobs/9"}`), 0o600))
	fb := newFakeBatch(4)
	_, err := ingest.RunBatch(ctx, fb, newStore(t), ns, embedding.Inputs(items(3, "v1")), plan)
	require.ErrorIs(t, err, ingest.ErrCheckpoint)
	assert.Contains(t, err.Error(), `namespace "other"`)
	assert.Equal(t, 0, fb.submits)

	require.NoError(t, os.WriteFile(plan.State, []byte(`not json`), 0o600))
	_, err = ingest.RunBatch(ctx, fb, newStore(t), ns, embedding.Inputs(items(3, "v1")), plan)
	require.ErrorIs(t, err, ingest.ErrCheckpoint)
}

func TestRunBatchFailedJob(t *testing.T) {
	ctx := context.Background()
	plan := testPlan(t)
	fb := newFakeBatch(4)
	fb.failJobs = true
	_, err := ingest.RunBatch(ctx, fb, newStore(t), ns, embedding.Inputs(items(3, "v1")), plan)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "job failed: quota")
	assert.NoFileExists(t, plan.State, "a failed job is not resumed")

	// A resumed job the service no longer knows is replaced by a new one.
	require.NoError(t, os.WriteFile(plan.State, []byte(`{"version":1,"namespace":"pool","model":"fake/enc v1","input":"mem://in","output":"mem://out","job":"jobs/gone"}`), 0o600))
	fb.failJobs = false
	store := newStore(t)
	sum, err := ingest.RunBatch(ctx, fb, store, ns, embedding.Inputs(items(3, "v1")), plan)
	require.NoError(t, err)
	assert.Equal(t, 2, fb.submits)
	assert.Equal(t, 3, sum.Encoded)
	requireStoreHolds(t, store, ns, fb.enc, items(3, "v1"))
}

func TestRunBatchRefusesAnotherDimension(t *testing.T) {
	ctx := context.Background()
	store := newStore(t)
	_, err := ingest.Run(ctx, newEncoder(8), store, ns, embedding.Inputs(items(2, "v1")))
	require.NoError(t, err)
	fb := newFakeBatch(4)
	_, err = ingest.RunBatch(ctx, fb, store, ns, embedding.Inputs(items(3, "v1")), testPlan(t))
	require.ErrorIs(t, err, index.ErrDimension)
	assert.Equal(t, 0, fb.submits)
}
