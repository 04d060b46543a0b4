package finetune

import (
	"context"
	"fmt"
	"math"
	"slices"

	"github.com/shoalhq/shoal/embedding"
	"github.com/shoalhq/shoal/internal/vecmath"
)

// EvalOption configures [Evaluate] and [EvaluateVectors]. Each option
// checks its own value: an unusable one makes the call return an error
// wrapping [ErrInvalidOption] that names the option and the value.
type EvalOption func(*evalConfig) error

type evalConfig struct {
	k, knn     int
	encodeOpts []embedding.Option
	encodeSet  bool // WithEvalEncodeOptions was passed
}

// WithPrecisionAtK sets the k of Metrics.PrecisionAtK (default
// [DefaultEvalK], 10; at least 1).
func WithPrecisionAtK(k int) EvalOption {
	return func(o *evalConfig) error {
		if k < 1 {
			return invalidOption(fmt.Sprintf("WithPrecisionAtK(%d)", k), "want at least 1")
		}
		o.k = k
		return nil
	}
}

// WithKNN sets the number of neighbours that vote in Metrics.KNNAccuracy
// (default [DefaultEvalKNN], 10; at least 1).
func WithKNN(k int) EvalOption {
	return func(o *evalConfig) error {
		if k < 1 {
			return invalidOption(fmt.Sprintf("WithKNN(%d)", k), "want at least 1")
		}
		o.knn = k
		return nil
	}
}

// WithEvalEncodeOptions passes options to the [embedding.EncodeAll] run
// that embeds the examples in [Evaluate] (default: none, EncodeAll's
// defaults). They are passed on unchanged and checked by EncodeAll. They do
// not apply to [EvaluateVectors], which encodes nothing: passing them there
// is an error.
func WithEvalEncodeOptions(opts ...embedding.Option) EvalOption {
	return func(o *evalConfig) error {
		o.encodeOpts, o.encodeSet = append(o.encodeOpts, opts...), true
		return nil
	}
}

// applyEvalOptions returns the configuration opts make for call
// ("Evaluate" or "EvaluateVectors").
func applyEvalOptions(call string, opts []EvalOption) (evalConfig, error) {
	o := evalConfig{k: DefaultEvalK, knn: DefaultEvalKNN}
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(&o); err != nil {
			return o, err
		}
	}
	if call == "EvaluateVectors" && o.encodeSet {
		return o, invalidOption("WithEvalEncodeOptions", "does not apply to EvaluateVectors, which encodes nothing")
	}
	return o, nil
}

// projector is implemented by encoders that can map precomputed base
// embeddings to their own space, such as [*LocalModel].
type projector interface {
	Project(vecs [][]float32) ([][]float32, error)
}

// Evaluate measures how well enc's embeddings group the examples by label:
// precision@k, mAP@R and kNN accuracy, leave-one-out over the examples,
// by cosine similarity (see [Metrics]).
//
// Examples with an Input are embedded with enc through
// [embedding.EncodeAll]. An example's Vector, when set, is a precomputed
// embedding by the base encoder: a model that can project base embeddings
// (like [*LocalModel]) maps it to its own space; for any other encoder it is
// taken as enc's own embedding and must have enc's dimension.
//
// It returns an error wrapping [ErrInvalidExamples] when no label has two
// examples or an example is unusable, and ctx's error when ctx is
// cancelled. The queries run in parallel on all cores; 10,000 items of 64
// dimensions take well under a second.
func Evaluate(ctx context.Context, enc embedding.Encoder, examples []Example, opts ...EvalOption) (Metrics, error) {
	o, err := applyEvalOptions("Evaluate", opts)
	if err != nil {
		return Metrics{}, err
	}
	if enc == nil {
		return Metrics{}, fmt.Errorf("%w: nil encoder", ErrInvalidOption)
	}
	if len(examples) == 0 {
		return Metrics{}, fmt.Errorf("%w: no examples", ErrInvalidExamples)
	}
	dim := enc.Info().Dim
	proj, canProject := enc.(projector)
	vecs := make([][]float32, len(examples))
	labels := make([]string, len(examples))
	var inputs []embedding.Input
	var at []int
	var precomputed [][]float32
	var precomputedAt []int
	for i, ex := range examples {
		if ex.Label == "" {
			return Metrics{}, fmt.Errorf("%w: %s: empty label", ErrInvalidExamples, exampleName(ex, i))
		}
		labels[i] = ex.Label
		switch {
		case ex.Vector != nil && canProject:
			precomputed = append(precomputed, ex.Vector)
			precomputedAt = append(precomputedAt, i)
		case ex.Vector != nil:
			if len(ex.Vector) != dim {
				return Metrics{}, fmt.Errorf("%w: %s: vector of dimension %d, encoder has %d",
					ErrInvalidExamples, exampleName(ex, i), len(ex.Vector), dim)
			}
			vecs[i] = ex.Vector
		default:
			inputs = append(inputs, ex.Input)
			at = append(at, i)
		}
	}
	if len(precomputed) > 0 {
		out, err := proj.Project(precomputed)
		if err != nil {
			return Metrics{}, err // wraps ErrBaseMismatch or ErrInvalidExamples
		}
		for j, v := range out {
			vecs[precomputedAt[j]] = v
		}
	}
	if len(inputs) > 0 {
		j := 0
		for e, err := range embedding.EncodeAll(ctx, enc, embedding.Inputs(inputs), o.encodeOpts...) {
			if err != nil {
				if ctx.Err() != nil {
					return Metrics{}, ctx.Err()
				}
				return Metrics{}, err // EncodeAll's error names the input
			}
			vecs[at[j]] = e.Vector
			j++
		}
	}
	return evaluateVectors(ctx, vecs, labels, o)
}

// EvaluateVectors is [Evaluate] over precomputed embeddings: vecs[i] has
// label labels[i]. Vectors need not be normalised (similarity is cosine);
// all must have the same dimension and finite values, or the error wraps
// [ErrInvalidExamples].
func EvaluateVectors(ctx context.Context, vecs [][]float32, labels []string, opts ...EvalOption) (Metrics, error) {
	o, err := applyEvalOptions("EvaluateVectors", opts)
	if err != nil {
		return Metrics{}, err
	}
	return evaluateVectors(ctx, vecs, labels, o)
}

// evaluateVectors is EvaluateVectors with its options applied.
func evaluateVectors(ctx context.Context, vecs [][]float32, labels []string, o evalConfig) (Metrics, error) {
	if len(vecs) != len(labels) {
		return Metrics{}, fmt.Errorf("%w: %d vectors for %d labels", ErrInvalidExamples, len(vecs), len(labels))
	}
	if len(vecs) == 0 {
		return Metrics{}, fmt.Errorf("%w: no examples", ErrInvalidExamples)
	}
	d := len(vecs[0])
	if d == 0 {
		return Metrics{}, fmt.Errorf("%w: item 0: empty vector", ErrInvalidExamples)
	}
	x := make([]float32, len(vecs)*d)
	ids := make([]int32, len(vecs))
	index := map[string]int32{}
	for i, v := range vecs {
		if len(v) != d {
			return Metrics{}, fmt.Errorf("%w: item %d: vector of dimension %d, item 0 has %d", ErrInvalidExamples, i, len(v), d)
		}
		if j := vecmath.Finite(v); j >= 0 {
			return Metrics{}, fmt.Errorf("%w: item %d: element %d is %v", ErrInvalidExamples, i, j, v[j])
		}
		if labels[i] == "" {
			return Metrics{}, fmt.Errorf("%w: item %d: empty label", ErrInvalidExamples, i)
		}
		id, ok := index[labels[i]]
		if !ok {
			id = int32(len(index))
			index[labels[i]] = id
		}
		ids[i] = id
		row := x[i*d : (i+1)*d]
		copy(row, v)
		vecmath.Normalize(row)
	}
	m, err := evaluateNormalized(ctx, x, d, ids, len(index), o.k, o.knn)
	if err != nil {
		return Metrics{}, err
	}
	if m.Queries == 0 {
		return Metrics{}, fmt.Errorf("%w: no label has two items, nothing to evaluate", ErrInvalidExamples)
	}
	return m, nil
}

// evalBlock is the number of queries whose similarities are computed in one
// matrix product.
const evalBlock = 64

// evaluateNormalized computes the leave-one-out metrics of the n = len(labels)
// unit rows of x (row length d); labels are in [0, classes).
func evaluateNormalized(ctx context.Context, x []float32, d int, labels []int32, classes, k, knn int) (Metrics, error) {
	n := len(labels)
	counts := make([]int, classes)
	for _, l := range labels {
		counts[l]++
	}
	k, knn = min(k, n-1), min(knn, n-1)
	type result struct {
		query            bool
		precision, ap    float64
		neighbourCorrect bool
	}
	res := make([]result, n)
	if n < 2 {
		return Metrics{Skipped: n, K: k, KNN: knn}, nil
	}
	xt := transpose(x, n, d)
	scratch := make(chan *evalScratch, workers())
	for range workers() {
		scratch <- &evalScratch{
			sims:   make([]float32, evalBlock*n),
			hist:   make([]int32, histBuckets),
			keys:   make([]uint64, 0, n),
			votes:  make([]int32, classes),
			ranked: make([]int32, 0, n),
		}
	}
	err := parallelChunks(ctx, n, evalBlock, func(lo, hi int) error {
		s := <-scratch
		defer func() { scratch <- s }()
		sims := s.sims[:(hi-lo)*n]
		gemm(false, false, hi-lo, n, d, 1, x[lo*d:hi*d], xt, 0, sims)
		for q := lo; q < hi; q++ {
			label := labels[q]
			r := counts[label] - 1
			if r == 0 {
				continue
			}
			row := sims[(q-lo)*n : (q-lo+1)*n]
			ranked := s.topM(row, q, max(r, k, knn))
			hits, sum := 0, 0.0
			for i, j := range ranked[:r] {
				if labels[j] == label {
					hits++
					sum += float64(hits) / float64(i+1)
				}
			}
			hits = 0
			for _, j := range ranked[:k] {
				if labels[j] == label {
					hits++
				}
			}
			res[q] = result{
				query:            true,
				precision:        float64(hits) / float64(k),
				ap:               sum / float64(r),
				neighbourCorrect: s.vote(ranked[:knn], labels) == label,
			}
		}
		return nil
	})
	if err != nil {
		return Metrics{}, err
	}
	m := Metrics{K: k, KNN: knn}
	var p, ap, acc float64
	for _, r := range res {
		if !r.query {
			m.Skipped++
			continue
		}
		m.Queries++
		p += r.precision
		ap += r.ap
		if r.neighbourCorrect {
			acc++
		}
	}
	if m.Queries > 0 {
		q := float64(m.Queries)
		m.PrecisionAtK, m.MAPAtR, m.KNNAccuracy = p/q, ap/q, acc/q
	}
	return m, nil
}

// evalScratch is one worker's scratch space.
type evalScratch struct {
	sims   []float32 // evalBlock × n similarities
	hist   []int32   // histBuckets
	keys   []uint64  // candidates of a query, as sort keys
	votes  []int32   // per label
	ranked []int32   // the top results of a query
}

// histBuckets is the resolution of the similarity histogram of topM.
const histBuckets = 4096

// bucket maps a cosine similarity in [-1, 1] to a histogram bucket,
// monotonically.
func bucket(s float32) int {
	b := int((s + 1) * (histBuckets / 2))
	return min(max(b, 0), histBuckets-1)
}

// rankKey orders results by decreasing score, then increasing index, as an
// unsigned integer: the score's bits are mapped to an order-preserving
// unsigned form and complemented.
func rankKey(score float32, index int) uint64 {
	b := math.Float32bits(score)
	if b&(1<<31) != 0 {
		b = ^b
	} else {
		b |= 1 << 31
	}
	return uint64(^b)<<32 | uint64(uint32(index))
}

// topM returns the indices of the m highest entries of row other than self,
// best first; ties rank the smaller index first. A histogram of the
// similarities finds a threshold that keeps a little more than m
// candidates, so only those are sorted.
func (s *evalScratch) topM(row []float32, self, m int) []int32 {
	m = min(m, len(row)-1)
	hist := s.hist
	clear(hist)
	for _, v := range row {
		hist[bucket(v)]++
	}
	hist[bucket(row[self])]--
	cut, total := histBuckets-1, int32(0)
	for ; cut > 0; cut-- {
		total += hist[cut]
		if int(total) >= m {
			break
		}
	}
	keys := s.keys[:0]
	for j, v := range row {
		if j != self && bucket(v) >= cut {
			keys = append(keys, rankKey(v, j))
		}
	}
	slices.Sort(keys)
	ranked := s.ranked[:0]
	for _, k := range keys[:m] {
		ranked = append(ranked, int32(uint32(k)))
	}
	s.keys, s.ranked = keys, ranked
	return ranked
}

// vote returns the label most frequent among the neighbours; a tie goes to
// the tied label whose first neighbour ranks first.
func (s *evalScratch) vote(neighbours []int32, labels []int32) int32 {
	best := int32(0)
	for _, j := range neighbours {
		s.votes[labels[j]]++
		best = max(best, s.votes[labels[j]])
	}
	winner := int32(-1)
	for _, j := range neighbours {
		if winner < 0 && s.votes[labels[j]] == best {
			winner = labels[j]
		}
	}
	for _, j := range neighbours {
		s.votes[labels[j]] = 0
	}
	return winner
}

// exampleName names an example in errors: its input ID, or its position.
func exampleName(ex Example, i int) string {
	if ex.Input.ID != "" {
		return fmt.Sprintf("example %q", ex.Input.ID)
	}
	return fmt.Sprintf("example %d", i)
}
