package finetune_test

import (
	"context"
	"math"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shoalhq/shoal/embedding"
	"github.com/shoalhq/shoal/finetune"
)

// handSet is five 2-D points at known angles (cosine similarity falls with
// the angle between them), plus a singleton label far away:
//
//	item  0   1   2   3   4   5
//	angle 0°  10° 22° 30° 90° 200°
//	label A   A   B   A   B   C
//
// Rankings (nearest first), and each query's R:
//
//	q0 (A, R=2): 1A 2B 3A 4B 5C   AP@R = (1/1)/2        = 0.5
//	q1 (A, R=2): 0A 2B 3A 4B 5C   AP@R = (1/1)/2        = 0.5
//	q2 (B, R=1): 3A 1A 0A 4B 5C   AP@R = 0
//	q3 (A, R=2): 2B 1A 0A 4B 5C   AP@R = (1/2)/2        = 0.25
//	q4 (B, R=1): 3A 2B 1A 0A 5C   AP@R = 0
//	q5 (C): no other C, skipped
//
// mAP@R = 1.25/5 = 0.25. P@2 = (1/2 + 1/2 + 0 + 1/2 + 1/2)/5 = 0.4.
// kNN with 3 votes: A, A, A (wrong), A, A (wrong) → 3/5 = 0.6.
// kNN with 2 votes (ties go to the nearer label): A, A, A (wrong),
// B (wrong), A (wrong) → 2/5 = 0.4.
func handSet() ([][]float32, []string) {
	angles := []float64{0, 10, 22, 30, 90, 200}
	labels := []string{"A", "A", "B", "A", "B", "C"}
	vecs := make([][]float32, len(angles))
	for i, a := range angles {
		s, c := math.Sincos(a * math.Pi / 180)
		scale := float64(1 + i) // norms must not matter
		vecs[i] = []float32{float32(c * scale), float32(s * scale)}
	}
	return vecs, labels
}

func TestEvaluateVectorsHandComputed(t *testing.T) {
	t.Parallel()
	vecs, labels := handSet()
	cases := []struct {
		k, knn   int
		p, knnOK float64
	}{
		{2, 3, 0.4, 0.6},
		{2, 2, 0.4, 0.4},
		// k = 1: q0 1A, q1 0A, q2 3A, q3 2B, q4 3A → 2/5.
		{1, 1, 0.4, 0.4},
		// k beyond the 5 other items is capped at 5: q0..q4 each see all
		// of their label's others: 2/5, 2/5, 1/5, 2/5, 1/5.
		// With 5 votes: q0 and q1 tie A–B and the nearer is A; q3 ties
		// and the nearer is B; q2 and q4 are outvoted by A.
		{10, 10, 1.6 / 5, 0.4},
	}
	for _, c := range cases {
		t.Run(strconv.Itoa(c.k)+"/"+strconv.Itoa(c.knn), func(t *testing.T) {
			t.Parallel()
			m, err := finetune.EvaluateVectors(context.Background(), vecs, labels, finetune.WithPrecisionAtK(c.k), finetune.WithKNN(c.knn))
			require.NoError(t, err)
			assert.Equal(t, 5, m.Queries)
			assert.Equal(t, 1, m.Skipped)
			assert.Equal(t, min(c.k, 5), m.K)
			assert.Equal(t, min(c.knn, 5), m.KNN)
			assert.InDelta(t, 0.25, m.MAPAtR, 1e-12)
			assert.InDelta(t, c.p, m.PrecisionAtK, 1e-12)
			assert.InDelta(t, c.knnOK, m.KNNAccuracy, 1e-12)
		})
	}
}

func TestEvaluateVectorsPerfectAndTies(t *testing.T) {
	t.Parallel()
	// Two tight, far-apart classes: every metric is 1.
	vecs := [][]float32{{1, 0.01}, {1, 0.02}, {1, 0}, {0.01, 1}, {0, 1}}
	labels := []string{"x", "x", "x", "y", "y"}
	m, err := finetune.EvaluateVectors(context.Background(), vecs, labels, finetune.WithPrecisionAtK(1), finetune.WithKNN(1))
	require.NoError(t, err)
	assert.Equal(t, finetune.Metrics{Queries: 5, K: 1, PrecisionAtK: 1, MAPAtR: 1, KNN: 1, KNNAccuracy: 1}, m)

	// Identical vectors: ties rank the earlier item first. For query 0
	// (label a) the ranking is 1b 2a: AP@R = 0. For query 2 it is 0a 1b:
	// AP@R = 1. Query 1 (b) has no other b.
	same := [][]float32{{1, 1}, {1, 1}, {1, 1}}
	m, err = finetune.EvaluateVectors(context.Background(), same, []string{"a", "b", "a"}, finetune.WithPrecisionAtK(1), finetune.WithKNN(1))
	require.NoError(t, err)
	assert.Equal(t, 2, m.Queries)
	assert.InDelta(t, 0.5, m.MAPAtR, 1e-12)
	assert.InDelta(t, 0.5, m.PrecisionAtK, 1e-12)
}

func TestEvaluateVectorsInvalid(t *testing.T) {
	t.Parallel()
	nan := float32(math.NaN())
	cases := []struct {
		name   string
		vecs   [][]float32
		labels []string
		opts   []finetune.EvalOption
		want   error
	}{
		{"empty", nil, nil, nil, finetune.ErrInvalidExamples},
		{"count mismatch", [][]float32{{1}}, []string{"a", "b"}, nil, finetune.ErrInvalidExamples},
		{"dimension", [][]float32{{1, 0}, {1}}, []string{"a", "a"}, nil, finetune.ErrInvalidExamples},
		{"empty vector", [][]float32{{}, {}}, []string{"a", "a"}, nil, finetune.ErrInvalidExamples},
		{"NaN", [][]float32{{1, 0}, {nan, 0}}, []string{"a", "a"}, nil, finetune.ErrInvalidExamples},
		{"empty label", [][]float32{{1, 0}, {0, 1}}, []string{"a", ""}, nil, finetune.ErrInvalidExamples},
		{"no pairs", [][]float32{{1, 0}, {0, 1}}, []string{"a", "b"}, nil, finetune.ErrInvalidExamples},
		{"k", [][]float32{{1, 0}, {0, 1}}, []string{"a", "a"}, []finetune.EvalOption{finetune.WithPrecisionAtK(0)}, finetune.ErrInvalidOption},
		{"kNN", [][]float32{{1, 0}, {0, 1}}, []string{"a", "a"}, []finetune.EvalOption{finetune.WithKNN(-1)}, finetune.ErrInvalidOption},
		{"encode options", [][]float32{{1, 0}, {0, 1}}, []string{"a", "a"}, []finetune.EvalOption{finetune.WithEvalEncodeOptions()}, finetune.ErrInvalidOption},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, err := finetune.EvaluateVectors(context.Background(), c.vecs, c.labels, c.opts...)
			assert.ErrorIs(t, err, c.want)
		})
	}
}

func TestEvalOptionsNameThemselves(t *testing.T) {
	t.Parallel()
	vecs, labels := [][]float32{{1, 0}, {0, 1}}, []string{"a", "a"}
	cases := []struct {
		opt finetune.EvalOption
		msg string
	}{
		{finetune.WithPrecisionAtK(0), "finetune: invalid option: WithPrecisionAtK(0): want at least 1"},
		{finetune.WithKNN(-1), "finetune: invalid option: WithKNN(-1): want at least 1"},
		{finetune.WithEvalEncodeOptions(), "finetune: invalid option: WithEvalEncodeOptions: does not apply to EvaluateVectors"},
	}
	for _, c := range cases {
		_, err := finetune.EvaluateVectors(context.Background(), vecs, labels, c.opt)
		assert.ErrorIs(t, err, finetune.ErrInvalidOption)
		assert.ErrorContains(t, err, c.msg)
	}
}

// TestEvaluateVectorsMatchesBruteForce compares the fast path (blocked
// products, histogram selection, parallel queries) with a direct
// computation on a random set large enough for several blocks.
func TestEvaluateVectorsMatchesBruteForce(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(3, 3))
	n, d, classes := 300, 8, 7
	vecs := make([][]float32, n)
	labels := make([]string, n)
	for i := range vecs {
		l := rng.IntN(classes)
		v := make([]float32, d)
		for j := range v {
			v[j] = float32(rng.NormFloat64())
		}
		v[l] += 1.5
		vecs[i], labels[i] = v, strconv.Itoa(l)
	}
	got, err := finetune.EvaluateVectors(context.Background(), vecs, labels, finetune.WithPrecisionAtK(5), finetune.WithKNN(7))
	require.NoError(t, err)
	want := bruteForce(vecs, labels, 5, 7)
	assert.Equal(t, want.Queries, got.Queries)
	assert.InDelta(t, want.MAPAtR, got.MAPAtR, 1e-9)
	assert.InDelta(t, want.PrecisionAtK, got.PrecisionAtK, 1e-9)
	assert.InDelta(t, want.KNNAccuracy, got.KNNAccuracy, 1e-9)
}

// bruteForce is the textbook computation of the metrics, in float64.
func bruteForce(vecs [][]float32, labels []string, k, knn int) finetune.Metrics {
	n := len(vecs)
	cos := func(a, b []float32) float64 {
		var ab, aa, bb float64
		for i := range a {
			ab += float64(a[i]) * float64(b[i])
			aa += float64(a[i]) * float64(a[i])
			bb += float64(b[i]) * float64(b[i])
		}
		return ab / math.Sqrt(aa*bb)
	}
	var m finetune.Metrics
	var p, ap, acc float64
	for q := range n {
		var order []int
		r := 0
		for j := range n {
			if j != q {
				order = append(order, j)
				if labels[j] == labels[q] {
					r++
				}
			}
		}
		if r == 0 {
			continue
		}
		s := make([]float64, n)
		for _, j := range order {
			s[j] = cos(vecs[q], vecs[j])
		}
		// Insertion sort: by similarity, then index.
		for i := 1; i < len(order); i++ {
			for j := i; j > 0 && (s[order[j]] > s[order[j-1]]); j-- {
				order[j], order[j-1] = order[j-1], order[j]
			}
		}
		m.Queries++
		hits, sum := 0, 0.0
		for i, j := range order[:r] {
			if labels[j] == labels[q] {
				hits++
				sum += float64(hits) / float64(i+1)
			}
		}
		ap += sum / float64(r)
		hits = 0
		for _, j := range order[:k] {
			if labels[j] == labels[q] {
				hits++
			}
		}
		p += float64(hits) / float64(k)
		votes := map[string]int{}
		best := 0
		for _, j := range order[:knn] {
			votes[labels[j]]++
			best = max(best, votes[labels[j]])
		}
		for _, j := range order[:knn] {
			if votes[labels[j]] == best {
				if labels[j] == labels[q] {
					acc++
				}
				break
			}
		}
	}
	q := float64(m.Queries)
	m.MAPAtR, m.PrecisionAtK, m.KNNAccuracy = ap/q, p/q, acc/q
	return m
}

func TestEvaluateEncoder(t *testing.T) {
	t.Parallel()
	enc, train, val, test := task(20)
	base, err := finetune.Evaluate(context.Background(), enc, test)
	require.NoError(t, err)
	vecs := make([][]float32, len(test))
	labels := make([]string, len(test))
	for i, ex := range test {
		vecs[i], labels[i] = enc.vecs[ex.Input.Text], ex.Label
	}
	direct, err := finetune.EvaluateVectors(context.Background(), vecs, labels)
	require.NoError(t, err)
	assert.Equal(t, direct, base)

	// Precomputed base vectors are projected by a fine-tuned model.
	trainer, err := finetune.NewTrainer(enc, fastOptions(finetune.WithEpochs(3))...)
	require.NoError(t, err)
	model, err := trainer.Train(context.Background(), train, val)
	require.NoError(t, err)
	byInput, err := finetune.Evaluate(context.Background(), model, test)
	require.NoError(t, err)
	withVectors := make([]finetune.Example, len(test))
	for i, ex := range test {
		withVectors[i] = finetune.Example{Vector: vecs[i], Label: ex.Label}
	}
	byVector, err := finetune.Evaluate(context.Background(), model, withVectors)
	require.NoError(t, err)
	assert.Equal(t, byInput, byVector)

	// Errors.
	_, err = finetune.Evaluate(context.Background(), enc, []finetune.Example{{Vector: []float32{1}, Label: "a"}, {Vector: []float32{1}, Label: "a"}})
	assert.ErrorIs(t, err, finetune.ErrInvalidExamples)
	_, err = finetune.Evaluate(context.Background(), enc, []finetune.Example{{Input: embedding.Input{ID: "x", Text: "?"}, Label: "a"}, test[0]})
	assert.ErrorIs(t, err, embedding.ErrInvalidInput)
	assert.ErrorContains(t, err, `"x"`)
	_, err = finetune.Evaluate(context.Background(), nil, test)
	assert.ErrorIs(t, err, finetune.ErrInvalidOption)

	// Encode options pass through to EncodeAll unchanged, and are checked there.
	var done int
	withOpts, err := finetune.Evaluate(context.Background(), enc, test, finetune.WithEvalEncodeOptions(
		embedding.WithBatchSize(3), embedding.WithProgress(func(p embedding.Progress) { done = p.Done })))
	require.NoError(t, err)
	assert.Equal(t, base, withOpts)
	assert.Equal(t, len(test), done)
	_, err = finetune.Evaluate(context.Background(), enc, test, finetune.WithEvalEncodeOptions(embedding.WithBatchSize(0)))
	assert.ErrorIs(t, err, embedding.ErrInvalidOption)
	assert.NotContains(t, err.Error(), "finetune:", "the package is named once: %v", err)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = finetune.Evaluate(ctx, enc, test)
	assert.ErrorIs(t, err, context.Canceled)
}
