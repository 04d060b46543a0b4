package finetune

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/shoalhq/shoal/embedding"
	"github.com/shoalhq/shoal/internal/vecmath"
)

// LocalTrainer trains an adapter over a frozen base encoder, on this
// machine's CPUs: an optional projection onto the principal components of
// the base embeddings, then a small multilayer perceptron (or a linear map),
// whose output is L2-normalised. It is trained with a metric-learning loss
// on class-balanced batches, with AdamW and a cosine learning-rate decay,
// and stopped early on the validation mAP@R, keeping the best epoch's
// weights.
//
// Base embeddings are computed once per Train call, through
// [embedding.EncodeAll], and cached (see [WithCacheDir]); the epochs only
// run the adapter, so training takes seconds to a minute where fine-tuning
// the base model would take hours.
//
// Build it with [NewTrainer]. It is safe for concurrent use; concurrent
// Train calls share the CPUs.
type LocalTrainer struct {
	base embedding.Encoder
	info embedding.Info
	trainerConfig

	mu    sync.Mutex
	cache map[[32]byte][]float32 // base embeddings of the last training set
}

var _ Trainer = (*LocalTrainer)(nil)

// NewTrainer returns a trainer of adapters over base, configured by opts.
// It returns an error wrapping [ErrInvalidOption] if base is nil or reports
// no dimension, or naming the first option with an unusable value. Nil
// options are skipped.
func NewTrainer(base embedding.Encoder, opts ...Option) (*LocalTrainer, error) {
	if base == nil {
		return nil, fmt.Errorf("%w: nil base encoder", ErrInvalidOption)
	}
	info := base.Info()
	if info.Dim < 1 {
		return nil, fmt.Errorf("%w: base encoder %q reports dimension %d", ErrInvalidOption, info.Model, info.Dim)
	}
	o := defaultConfig()
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	if o.cfg.InputPCA > info.Dim {
		return nil, invalidOption(fmt.Sprintf("WithInputPCA(%d, %t)", o.cfg.InputPCA, o.cfg.Whiten),
			"base encoder %q has only %d dimensions", info.Model, info.Dim)
	}
	return &LocalTrainer{base: base, info: info, trainerConfig: o}, nil
}

// Config returns the trainer's configuration, defaults filled in.
func (t *LocalTrainer) Config() Config {
	c := t.cfg
	c.Hidden = slices.Clone(c.Hidden)
	return c
}

// Train implements [Trainer]; the model it returns is a [*LocalModel].
func (t *LocalTrainer) Train(ctx context.Context, train, val []Example) (Model, error) {
	m, err := t.TrainLocal(ctx, train, val)
	if err != nil {
		return nil, err
	}
	return m, nil
}

// Streams of the seeded generator, one per use, so that changing one
// option does not change the others' random draws.
const (
	streamSplit uint64 = iota + 0x5348_4f41_4c46_5400 // "SHOALFT"
	streamPCA
	streamInit
	streamBatches
	streamProxies
	streamDropout
)

// TrainLocal is [LocalTrainer.Train] with the concrete model type, which
// can be saved.
//
// It fits the adapter on train and stops early on val: when val is empty,
// it holds out [Config.ValidationFraction] of each label's training
// examples instead. The report's Before and After metrics are measured on
// the validation examples. Errors wrap [ErrInvalidExamples] for an unusable
// set (none, one label only, an empty label, a precomputed vector of the
// wrong dimension), the encoder's error for an input it cannot embed, and
// [ErrDiverged] if the loss becomes NaN; a cancelled ctx returns ctx's
// error.
func (t *LocalTrainer) TrainLocal(ctx context.Context, train, val []Example) (*LocalModel, error) {
	start := time.Now()
	cfg := t.Config()
	d := t.info.Dim
	if len(train) == 0 {
		return nil, fmt.Errorf("%w: no training examples", ErrInvalidExamples)
	}
	if err := checkExamples(train, d, "train"); err != nil {
		return nil, err
	}
	if err := checkExamples(val, d, "validation"); err != nil {
		return nil, err
	}
	labels := labelIndex(train, val)
	if err := checkLabels(train); err != nil {
		return nil, err
	}
	all := train
	if len(val) > 0 {
		all = append(slices.Clone(train), val...)
	}
	base, encodeTime, err := t.baseVectors(ctx, all, labels)
	if err != nil {
		return nil, err
	}
	seed := cfg.Seed
	var trainIdx, valIdx []int
	if len(val) > 0 {
		trainIdx, valIdx = seq(0, len(train)), seq(len(train), len(all))
	} else if cfg.ValidationFraction > 0 {
		trainIdx, valIdx = split(base.labels, len(labels), cfg.ValidationFraction, rand.New(rand.NewPCG(seed, streamSplit)))
	} else {
		trainIdx = seq(0, len(train))
	}
	if err := checkTrainable(base, trainIdx, cfg.Loss); err != nil {
		return nil, err
	}

	// The fixed input projection, then the prepared training inputs.
	var mean, proj []float32
	if cfg.InputPCA > 0 {
		sample := gather(base, trainIdx, pcaSample)
		mean = meanOf(base, trainIdx)
		proj, err = fitPCA(ctx, sample, len(sample)/d, d, mean, cfg.InputPCA, cfg.Whiten, rand.New(rand.NewPCG(seed, streamPCA)))
		if err != nil {
			return nil, err
		}
	}
	h := newHead(d, mean, proj, cfg.InputPCA, cfg.Activation, cfg.Hidden, cfg.OutputDim, rand.New(rand.NewPCG(seed, streamInit)))
	xTrain, err := prepareRows(ctx, h, base, trainIdx)
	if err != nil {
		return nil, err
	}
	trainLabels := make([]int32, len(trainIdx))
	for k, i := range trainIdx {
		trainLabels[k] = base.labels[i]
	}
	v := newValidation(base, valIdx, len(labels))
	report := Report{
		Base:           t.info,
		Config:         cfg,
		TrainExamples:  len(trainIdx),
		ValExamples:    len(valIdx),
		Classes:        countClasses(trainLabels),
		EncodeDuration: encodeTime,
	}
	if v != nil {
		if report.Before, err = v.evaluateBase(ctx, base, cfg); err != nil {
			return nil, err
		}
		if v.prepared, err = prepareRows(ctx, h, base, valIdx); err != nil {
			return nil, err
		}
	}
	best, err := t.fit(ctx, h, xTrain, trainLabels, len(labels), v, &report)
	if err != nil {
		return nil, err
	}
	report.Duration = time.Since(start)
	if t.logger != nil {
		t.logger.Info("shoal: finetune: trained", "best_epoch", report.BestEpoch, "before", report.Before.String(),
			"after", report.After.String(), "duration", report.Duration)
	}
	return newLocalModel(t.base, t.info, best, report), nil
}

// fit runs the epochs and returns the head with the best epoch's weights.
func (t *LocalTrainer) fit(ctx context.Context, h *head, x []float32, labels []int32, classes int, v *validation, report *Report) (*head, error) {
	cfg := report.Config
	n, in := len(labels), h.firstDim()
	out := h.outDim()
	smp := newSampler(labels, classes, cfg.ClassesPerBatch, cfg.PerClass, rand.New(rand.NewPCG(cfg.Seed, streamBatches)))
	bmax := smp.batchSize()
	var obj objective
	switch cfg.Loss {
	case Triplet:
		obj = newTriplet(cfg.Margin)
	case Proxy:
		obj = newProxy(classes, out, cfg.Temperature, rand.New(rand.NewPCG(cfg.Seed, streamProxies)))
	default:
		obj = newSupCon(cfg.Temperature)
	}
	acts, grads := h.newActivations(bmax), h.newGrads(bmax)
	var drop *dropout
	if cfg.Dropout > 0 && len(h.layers) > 1 {
		drop = &dropout{p: cfg.Dropout, rng: rand.New(rand.NewPCG(cfg.Seed, streamDropout))}
	}
	xb, lb, dz := make([]float32, bmax*in), make([]int32, bmax), make([]float32, bmax*out)
	var params, gradients [][]float32
	var decay []bool
	for i, l := range h.layers {
		params = append(params, l.w, l.b)
		gradients = append(gradients, grads.w[i], grads.b[i])
		decay = append(decay, true, false)
	}
	op, og := obj.params()
	params, gradients = append(params, op...), append(gradients, og...)
	for range op {
		decay = append(decay, false)
	}
	opt := newAdam(params, gradients, decay)
	// With weight averaging, validation and the kept weights use the
	// exponential moving average of the weights instead of the weights.
	eval := h
	var avg *emaState
	if cfg.WeightAveraging > 0 {
		eval = h.clone()
		avg = newEMA(h, eval)
	}

	perEpoch := smp.batches(n)
	total := cfg.Epochs * perEpoch
	var best *head
	bestScore, sinceBest, step := math.Inf(-1), 0, 0
	var idx []int
	for epoch := 1; epoch <= cfg.Epochs; epoch++ {
		epochStart := time.Now()
		lossSum := 0.0
		for range perEpoch {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			idx = smp.batch(idx)
			b := len(idx)
			for k, i := range idx {
				copy(xb[k*in:(k+1)*in], x[i*in:(i+1)*in])
				lb[k] = labels[i]
			}
			if drop != nil {
				drop.draw(h, acts, b)
			}
			h.forward(xb, b, acts, true)
			loss, err := obj.loss(ctx, acts.out[:b*out], lb[:b], b, out, dz)
			if err != nil {
				return nil, err
			}
			if !finite(loss) {
				return nil, fmt.Errorf("%w: loss %v at epoch %d; try a lower learning rate (now %g)", ErrDiverged, loss, epoch, cfg.LearningRate)
			}
			lossSum += loss
			h.backward(xb, dz, b, acts, grads)
			step++
			lr := cfg.LearningRate * 0.5 * (1 + math.Cos(math.Pi*float64(step-1)/float64(total)))
			if err := opt.step(ctx, float32(lr), float32(cfg.WeightDecay), step); err != nil {
				return nil, err
			}
			if avg != nil {
				if err := avg.update(ctx, cfg.WeightAveraging, step); err != nil {
					return nil, err
				}
			}
		}
		stats := EpochStats{Epoch: epoch, Loss: lossSum / float64(perEpoch)}
		if v != nil {
			m, err := v.evaluate(ctx, eval, cfg)
			if err != nil {
				return nil, err
			}
			stats.Validation = m
			if m.MAPAtR > bestScore {
				bestScore, sinceBest, stats.Best = m.MAPAtR, 0, true
				report.After = m
			} else {
				sinceBest++
			}
		} else {
			stats.Best = true
		}
		if stats.Best {
			report.BestEpoch = epoch
			if best == nil {
				best = eval.clone()
			} else {
				best.copyFrom(eval)
			}
		}
		stats.Duration = time.Since(epochStart)
		report.Epochs = append(report.Epochs, stats)
		if t.logger != nil {
			t.logger.Info("shoal: finetune: epoch", "epoch", epoch, "loss", stats.Loss, "validation", stats.Validation.String(),
				"best", stats.Best, "duration", stats.Duration)
		}
		if t.progress != nil {
			t.progress(stats)
		}
		if v != nil && cfg.Patience > 0 && sinceBest >= cfg.Patience && epoch < cfg.Epochs {
			report.StoppedEarly = true
			break
		}
	}
	return best, nil
}

// validation holds the validation rows: their labels, their base
// embeddings (normalised, for the before metrics) and their prepared inputs.
type validation struct {
	idx      []int
	labels   []int32
	classes  int
	prepared []float32
	scratch  []float32
}

// newValidation returns the validation set of the rows idx, or nil if no
// label has two of them (nothing to measure).
func newValidation(base *vectors, idx []int, classes int) *validation {
	if len(idx) < 2 {
		return nil
	}
	labels := make([]int32, len(idx))
	counts := map[int32]int{}
	ok := false
	for k, i := range idx {
		labels[k] = base.labels[i]
		counts[labels[k]]++
		ok = ok || counts[labels[k]] > 1
	}
	if !ok {
		return nil
	}
	return &validation{idx: idx, labels: labels, classes: classes}
}

// evaluateBase measures the base embeddings of the validation rows.
func (v *validation) evaluateBase(ctx context.Context, base *vectors, cfg Config) (Metrics, error) {
	d := base.d
	x := make([]float32, len(v.idx)*d)
	for k, i := range v.idx {
		row := x[k*d : (k+1)*d]
		copy(row, base.row(i))
		vecmath.Normalize(row)
	}
	return evaluateNormalized(ctx, x, d, v.labels, v.classes, cfg.EvalK, cfg.EvalKNN)
}

// evaluate measures the current head on the validation rows.
func (v *validation) evaluate(ctx context.Context, h *head, cfg Config) (Metrics, error) {
	n, in, out := len(v.idx), h.firstDim(), h.outDim()
	if v.scratch == nil {
		v.scratch = make([]float32, n*out)
	}
	err := parallelChunks(ctx, n, projectBatch, func(lo, hi int) error {
		a := h.newActivations(hi - lo)
		h.forward(v.prepared[lo*in:hi*in], hi-lo, a, false)
		copy(v.scratch[lo*out:hi*out], a.out)
		return nil
	})
	if err != nil {
		return Metrics{}, err
	}
	return evaluateNormalized(ctx, v.scratch, out, v.labels, v.classes, cfg.EvalK, cfg.EvalKNN)
}

// checkLabels rejects a training set with a single label.
func checkLabels(train []Example) error {
	first := train[0].Label
	for _, ex := range train[1:] {
		if ex.Label != first {
			return nil
		}
	}
	return fmt.Errorf("%w: all %d training examples have the label %q; fine-tuning needs at least two labels",
		ErrInvalidExamples, len(train), first)
}

// checkTrainable rejects training rows that leave nothing to learn from:
// fewer than two labels, or, for the pair losses, no label with two rows.
func checkTrainable(base *vectors, idx []int, loss Loss) error {
	counts := map[int32]int{}
	pairs := false
	for _, i := range idx {
		counts[base.labels[i]]++
		pairs = pairs || counts[base.labels[i]] > 1
	}
	if len(counts) < 2 {
		return fmt.Errorf("%w: the training examples left after the validation split have a single label", ErrInvalidExamples)
	}
	if loss != Proxy && !pairs {
		return fmt.Errorf("%w: no label has two training examples; the %v loss needs positive pairs", ErrInvalidExamples, loss)
	}
	return nil
}

func countClasses(labels []int32) int {
	seen := map[int32]bool{}
	for _, l := range labels {
		seen[l] = true
	}
	return len(seen)
}

// seq returns lo, lo+1, ..., hi-1.
func seq(lo, hi int) []int {
	s := make([]int, hi-lo)
	for i := range s {
		s[i] = lo + i
	}
	return s
}

// gather copies at most limit evenly spaced rows of idx into a new array.
func gather(v *vectors, idx []int, limit int) []float32 {
	m := min(len(idx), limit)
	out := make([]float32, 0, m*v.d)
	for i := range m {
		out = append(out, v.row(idx[int(int64(i)*int64(len(idx))/int64(m))])...)
	}
	return out
}

// meanOf returns the mean of the rows idx.
func meanOf(v *vectors, idx []int) []float32 {
	sum := make([]float64, v.d)
	for _, i := range idx {
		for j, x := range v.row(i) {
			sum[j] += float64(x)
		}
	}
	mean := make([]float32, v.d)
	for j, s := range sum {
		mean[j] = float32(s / float64(len(idx)))
	}
	return mean
}

// prepareRows maps the rows idx of v to the head's first-layer inputs, in
// parallel chunks.
func prepareRows(ctx context.Context, h *head, v *vectors, idx []int) ([]float32, error) {
	in := h.firstDim()
	out := make([]float32, len(idx)*in)
	err := parallelChunks(ctx, len(idx), 1024, func(lo, hi int) error {
		rows := make([]float32, 0, (hi-lo)*v.d)
		for _, i := range idx[lo:hi] {
			rows = append(rows, v.row(i)...)
		}
		h.prepare(out[lo*in:hi*in], rows, hi-lo)
		return nil
	})
	return out, err
}

// adam is the AdamW state of a set of parameters, cut into segments that
// are updated in parallel (each element's update is independent, so the
// result does not depend on the number of cores).
type adam struct {
	segments []adamSegment
}

type adamSegment struct {
	w, g, m, v []float32
	decay      bool
}

// adamSegmentSize is the largest number of parameters updated by one task.
const adamSegmentSize = 1 << 15

func newAdam(params, grads [][]float32, decay []bool) *adam {
	a := &adam{}
	for i, p := range params {
		m, v := make([]float32, len(p)), make([]float32, len(p))
		for lo := 0; lo < len(p); lo += adamSegmentSize {
			hi := min(lo+adamSegmentSize, len(p))
			a.segments = append(a.segments, adamSegment{w: p[lo:hi], g: grads[i][lo:hi], m: m[lo:hi], v: v[lo:hi], decay: decay[i]})
		}
	}
	return a
}

// step applies one AdamW update with learning rate lr; weight decay wd
// applies to the segments marked for it.
func (a *adam) step(ctx context.Context, lr, wd float32, step int) error {
	return parallelChunks(ctx, len(a.segments), 1, func(lo, hi int) error {
		for _, s := range a.segments[lo:hi] {
			u := vecmath.AdamW{LR: lr, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, Step: step}
			if s.decay {
				u.WeightDecay = wd
			}
			u.Update(s.w, s.g, s.m, s.v)
		}
		return nil
	})
}

// emaState keeps an exponential moving average of a head's weights in
// another head of the same shape (Polyak averaging), segment by segment in
// parallel.
type emaState struct {
	src, dst [][]float32
}

func newEMA(src, dst *head) *emaState {
	e := &emaState{}
	for i := range src.layers {
		for _, pair := range [][2][]float32{{src.layers[i].w, dst.layers[i].w}, {src.layers[i].b, dst.layers[i].b}} {
			for lo := 0; lo < len(pair[0]); lo += adamSegmentSize {
				hi := min(lo+adamSegmentSize, len(pair[0]))
				e.src, e.dst = append(e.src, pair[0][lo:hi]), append(e.dst, pair[1][lo:hi])
			}
		}
	}
	return e
}

// update moves the average towards the current weights after the given
// step; the decay ramps up as (1+step)/(10+step) so that the average soon
// forgets the initial weights.
func (e *emaState) update(ctx context.Context, decay float64, step int) error {
	d := float32(min(decay, float64(1+step)/float64(10+step)))
	return parallelChunks(ctx, len(e.src), 1, func(lo, hi int) error {
		for i := lo; i < hi; i++ {
			vecmath.Lerp(e.dst[i], e.src[i], 1-d)
		}
		return nil
	})
}
