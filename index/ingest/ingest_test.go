package ingest_test

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shoalhq/shoal/embedding"
	"github.com/shoalhq/shoal/index"
	"github.com/shoalhq/shoal/index/ingest"
	"github.com/shoalhq/shoal/index/memory"
)

const ns = "pool"

func newStore(t testing.TB) *memory.Store {
	t.Helper()
	s, err := memory.New()
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

// requireStoreHolds checks that ns holds exactly want (the last input of
// each ID), each with the vector enc gives and its metadata.
func requireStoreHolds(t testing.TB, s index.VectorStore, namespace string, enc *fakeEncoder, want []embedding.Input) {
	t.Helper()
	last := map[string]embedding.Input{}
	for _, in := range want {
		last[in.ID] = in
	}
	n, err := index.Count(context.Background(), s, namespace)
	require.NoError(t, err)
	require.Equal(t, len(last), n, "records in the store")
	ids := make([]string, 0, len(last))
	for id := range last {
		ids = append(ids, id)
	}
	for lo := 0; lo < len(ids); lo += 1000 {
		recs, err := s.Fetch(context.Background(), namespace, ids[lo:min(lo+1000, len(ids))])
		require.NoError(t, err)
		for _, r := range recs {
			in := last[r.ID]
			require.Equal(t, vectorOf(enc.model, in.Text, enc.dim), r.Vector, "vector of %s", r.ID)
			for k, v := range in.Metadata {
				require.EqualValues(t, v, r.Metadata[k], "metadata %s of %s", k, r.ID)
			}
			require.Equal(t, enc.model, r.Metadata[ingest.KeyModel])
		}
	}
}

func TestRunIndexesAndSkipsWhatIsIndexed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, enc := newStore(t), newEncoder(8)
	src := items(1000, "v1")
	var last ingest.Progress
	sum, err := ingest.Run(ctx, enc, s, ns, embedding.Inputs(src), ingest.WithBatchSize(50),
		ingest.WithTotal(len(src)), ingest.WithProgress(func(p ingest.Progress) { last = p }))
	require.NoError(t, err)
	assert.Equal(t, 1000, sum.Read)
	assert.Equal(t, 1000, sum.Written)
	assert.Equal(t, 1000, sum.Encoded)
	assert.Equal(t, 20, sum.EncodeCalls)
	assert.True(t, last.Finished)
	assert.Equal(t, 1000, last.Done)
	requireStoreHolds(t, s, ns, enc, src)

	// A second run finds everything indexed: no encoder call, no write.
	enc.calls.Store(0)
	sum, err = ingest.Run(ctx, enc, s, ns, embedding.Inputs(src), ingest.WithBatchSize(50))
	require.NoError(t, err)
	assert.Equal(t, ingest.Summary{Read: 1000, Unchanged: 1000, StoreCalls: 20, Elapsed: sum.Elapsed}, sum)
	assert.Zero(t, enc.calls.Load())
}

func TestIncrementalSync(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, enc := newStore(t), newEncoder(8)
	src := items(300, "v1")
	_, err := ingest.Run(ctx, enc, s, ns, embedding.Inputs(src))
	require.NoError(t, err)

	next := append([]embedding.Input(nil), src[:250]...) // 250-299 removed
	for i := 0; i < 20; i++ {                            // content changed
		next[i] = item(i, "v2")
	}
	for i := 20; i < 30; i++ { // metadata changed only
		next[i].Metadata = map[string]any{"n": int64(i), "split": "test"}
	}
	next = append(next, item(1000, "v1"), item(1001, "v1")) // added
	enc.calls.Store(0)

	// Without WithRemoveMissing nothing is deleted.
	sum, err := ingest.Run(ctx, enc, s, ns, embedding.Inputs(next), ingest.WithBatchSize(1000))
	require.NoError(t, err)
	assert.Equal(t, 22, sum.Encoded, "changed and added items are encoded")
	assert.Equal(t, 32, sum.Written, "and the metadata-only changes written with their stored vectors")
	assert.Equal(t, 220, sum.Unchanged)
	assert.Zero(t, sum.Removed)
	assert.EqualValues(t, 1, enc.calls.Load())
	n, err := index.Count(ctx, s, ns)
	require.NoError(t, err)
	assert.Equal(t, 302, n)

	sum, err = ingest.Run(ctx, enc, s, ns, embedding.Inputs(next), ingest.WithRemoveMissing())
	require.NoError(t, err)
	assert.Equal(t, 50, sum.Removed)
	assert.Equal(t, 252, sum.Unchanged)
	requireStoreHolds(t, s, ns, enc, next)
}

// source yields ins, and errs[i] with the input at i when set.
func source(ins []embedding.Input, errs map[int]error) iter.Seq2[embedding.Input, error] {
	return func(yield func(embedding.Input, error) bool) {
		for i, in := range ins {
			if !yield(in, errs[i]) {
				return
			}
		}
	}
}

func TestDeadLettersAndDuplicates(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, enc := newStore(t), newEncoder(8)
	src := items(200, "v1")
	src[7].Text = "bad: too long"                                      // refused by the encoder
	src[50].Metadata = map[string]any{"_shoal_model": "x"}             // reserved key
	src[60].ID = ""                                                    // invalid ID
	src[70] = embedding.Input{ID: src[71].ID, Text: "first of a pair"} // same batch as 71
	src[199] = embedding.Input{ID: src[3].ID, Text: "far duplicate"}   // long after 3
	src = append(src, embedding.Input{ID: src[100].ID, Text: "last"})  // next batch
	unreadable := errors.New("open img-80.png: permission denied")
	var letters []ingest.DeadLetter
	sum, err := ingest.Run(ctx, enc, s, ns, source(src, map[int]error{80: unreadable}),
		ingest.WithBatchSize(32), ingest.WithDeadLetters(func(d ingest.DeadLetter) { letters = append(letters, d) }))
	require.NoError(t, err)
	require.Len(t, letters, 4)
	assert.Equal(t, ingest.StageEncode, letters[0].Stage)
	assert.Equal(t, src[7].ID, letters[0].ID)
	assert.ErrorIs(t, letters[0].Err, embedding.ErrInvalidInput)
	assert.Equal(t, 50, letters[1].Position)
	assert.ErrorIs(t, letters[1].Err, index.ErrInvalidMetadata)
	assert.ErrorIs(t, letters[2].Err, index.ErrInvalidID)
	assert.Equal(t, ingest.StageSource, letters[3].Stage)
	assert.ErrorIs(t, letters[3].Err, unreadable)
	assert.Equal(t, 4, sum.Failed)
	assert.Equal(t, sum.DeadLetters, letters)
	assert.Equal(t, 3, sum.Duplicates)
	assert.ElementsMatch(t, []string{src[70].ID, src[3].ID, src[100].ID}, sum.DuplicateIDs)
	assert.Equal(t, len(src), sum.Read)
	assert.Equal(t, sum.Read, sum.Written+sum.Unchanged+sum.Failed+sum.Superseded)
	assert.GreaterOrEqual(t, sum.Superseded, 1, "70 is superseded by 71 in the same batch")

	var want []embedding.Input
	for i, in := range src {
		if i != 7 && i != 50 && i != 60 && i != 80 {
			want = append(want, in)
		}
	}
	requireStoreHolds(t, s, ns, enc, want)
}

func TestEmptySource(t *testing.T) {
	t.Parallel()
	s, enc := newStore(t), newEncoder(8)
	sum, err := ingest.Run(context.Background(), enc, s, ns, embedding.Inputs(nil))
	require.NoError(t, err)
	assert.Equal(t, ingest.Summary{Elapsed: sum.Elapsed}, sum)
	assert.Zero(t, enc.calls.Load())
}

func TestRefusesAnotherDimensionOrModelBeforeWriting(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	_, err := ingest.Run(ctx, newEncoder(8), s, ns, embedding.Inputs(items(10, "v1")))
	require.NoError(t, err)

	enc16 := newEncoder(16)
	_, err = ingest.Run(ctx, enc16, s, ns, embedding.Inputs(items(20, "v2")))
	require.ErrorIs(t, err, index.ErrDimension)
	assert.ErrorContains(t, err, `namespace "pool" holds 8-dimensional vectors`)
	assert.ErrorContains(t, err, `encoder "fake/enc v1" gives 16`)
	assert.Zero(t, enc16.calls.Load())

	other := &fakeEncoder{model: "fake/enc v2", dim: 8}
	_, err = ingest.Run(ctx, other, s, ns, embedding.Inputs(items(20, "v2")))
	require.ErrorIs(t, err, ingest.ErrModelMismatch)
	assert.ErrorContains(t, err, `"fake/enc v1"`)
	assert.ErrorContains(t, err, `"fake/enc v2"`)
	n, err := index.Count(ctx, s, ns)
	require.NoError(t, err)
	assert.Equal(t, 10, n, "nothing written")

	fixed, err := memory.New(memory.WithDimension(4))
	require.NoError(t, err)
	defer fixed.Close()
	_, err = ingest.Run(ctx, newEncoder(8), fixed, ns, embedding.Inputs(items(2, "v1")))
	require.ErrorIs(t, err, index.ErrDimension)
}

func TestCancelReturnsPromptlyAndResumes(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	enc := newEncoder(8)
	ctx, cancel := context.WithCancel(context.Background())
	enc.onCall = func(int) error {
		if enc.calls.Load() == 5 {
			cancel()
		}
		return nil
	}
	enc.latency = time.Millisecond
	cp := filepath.Join(t.TempDir(), "job.checkpoint")
	src := items(2000, "v1")
	sum, err := ingest.Run(ctx, enc, s, ns, embedding.Inputs(src), ingest.WithBatchSize(10), ingest.WithConcurrency(2), ingest.WithCheckpoint(cp))
	require.ErrorIs(t, err, context.Canceled)
	assert.Less(t, sum.Read, 200, "stops within the batches in flight")
	if sum.Read > 0 {
		assert.FileExists(t, cp)
	}

	enc.onCall = nil
	sum2, err := ingest.Run(context.Background(), enc, s, ns, embedding.Inputs(src), ingest.WithBatchSize(10), ingest.WithCheckpoint(cp))
	require.NoError(t, err)
	assert.Equal(t, sum.Read, sum2.Resumed, "the checkpoint covers what the cancelled run settled")
	assert.NoFileExists(t, cp, "a completed run removes its checkpoint")
	requireStoreHolds(t, s, ns, enc, src)
}

func TestCheckpointOfAnotherSourceIsRefused(t *testing.T) {
	t.Parallel()
	cp := filepath.Join(t.TempDir(), "cp")
	s, enc := newStore(t), newEncoder(8)
	// A source that fails without naming an item ends the run, which
	// keeps its position in the checkpoint.
	broken := errors.New("manifest: read error")
	first := items(500, "v1")
	first[300] = embedding.Input{} // no ID: the source cannot say which item failed
	sum, err := ingest.Run(context.Background(), enc, s, ns, source(first, map[int]error{300: broken}),
		ingest.WithBatchSize(10), ingest.WithCheckpoint(cp))
	require.ErrorIs(t, err, broken)
	require.Equal(t, 300, sum.Read)
	require.FileExists(t, cp)
	other := items(500, "v1")
	for i := range other {
		other[i].ID = fmt.Sprintf("other-%d", i)
	}
	_, err = ingest.Run(context.Background(), enc, s, ns, embedding.Inputs(other), ingest.WithCheckpoint(cp))
	require.ErrorIs(t, err, ingest.ErrCheckpoint)
	_, err = ingest.Run(context.Background(), enc, s, "another", embedding.Inputs(other), ingest.WithCheckpoint(cp))
	require.ErrorIs(t, err, ingest.ErrCheckpoint)
	assert.ErrorContains(t, err, `belongs to namespace "pool"`)
}

func TestOptionsAndArguments(t *testing.T) {
	t.Parallel()
	s, enc := newStore(t), newEncoder(8)
	src := embedding.Inputs(nil)
	for name, opt := range map[string]ingest.Option{
		"WithBatchSize(0)":       ingest.WithBatchSize(0),
		"WithConcurrency(0)":     ingest.WithConcurrency(0),
		"WithEncoderRate(-1, 0)": ingest.WithEncoderRate(-1, 0),
		"WithStoreRate(0, NaN)":  ingest.WithStoreRate(0, nan()),
		"WithRetry(0, 0s, 0s)":   ingest.WithRetry(0, 0, 0),
		`WithCheckpoint("")`:     ingest.WithCheckpoint(""),
		"WithDeadLetters(nil)":   ingest.WithDeadLetters(nil),
		"WithProgress(nil)":      ingest.WithProgress(nil),
		"WithLogger(nil)":        ingest.WithLogger(nil),
		"WithTotal(-1)":          ingest.WithTotal(-1),
	} {
		_, err := ingest.Run(context.Background(), enc, s, ns, src, opt)
		require.ErrorIs(t, err, ingest.ErrInvalidOption, name)
		assert.ErrorContains(t, err, "ingest: "+name[:len(name)-len(name[indexOf(name, '('):])], name)
	}
	//lint:ignore SA1012 a nil context is what is tested
	_, err := ingest.Run(nil, enc, s, ns, src) //nolint:staticcheck
	require.ErrorIs(t, err, ingest.ErrInvalidOption)
	_, err = ingest.Run(context.Background(), nil, s, ns, src)
	require.ErrorIs(t, err, ingest.ErrInvalidOption)
	_, err = ingest.Run(context.Background(), enc, nil, ns, src)
	require.ErrorIs(t, err, ingest.ErrInvalidOption)
	_, err = ingest.Run(context.Background(), enc, s, ns, nil)
	require.ErrorIs(t, err, ingest.ErrInvalidOption)
}

func nan() float64 { var z float64; return z / z }

func indexOf(s string, c byte) int {
	for i := range len(s) {
		if s[i] == c {
			return i
		}
	}
	return len(s)
}
