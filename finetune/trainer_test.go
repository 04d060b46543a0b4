package finetune_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"math"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shoalhq/shoal/embedding"
	"github.com/shoalhq/shoal/embedding/local"
	"github.com/shoalhq/shoal/finetune"
	"github.com/shoalhq/shoal/internal/vecmath"
)

func TestTrainImprovesMAPAtR(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		opts []finetune.Option
	}{
		{"supcon relu", nil},
		{"supcon gelu", []finetune.Option{finetune.WithActivation(finetune.GELU)}},
		{"triplet", []finetune.Option{finetune.WithLoss(finetune.Triplet), finetune.WithMargin(0.5)}},
		{"proxy", []finetune.Option{finetune.WithLoss(finetune.Proxy)}},
		{"linear", []finetune.Option{finetune.WithHidden()}},
		{"two layers", []finetune.Option{finetune.WithHidden(32, 16)}},
		{"input PCA", []finetune.Option{finetune.WithInputPCA(12, false)}},
		{"whitened input PCA", []finetune.Option{finetune.WithInputPCA(12, true)}},
		{"dropout", []finetune.Option{finetune.WithDropout(0.2)}},
		{"weight averaging", []finetune.Option{finetune.WithWeightAveraging(0.95)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			enc, train, val, test := task(1)
			trainer, err := finetune.NewTrainer(enc, fastOptions(c.opts...)...)
			require.NoError(t, err)
			model, err := trainer.TrainLocal(context.Background(), train, val)
			require.NoError(t, err)

			rep := model.Report()
			assert.Less(t, rep.Before.MAPAtR, 0.5, "the nuisance feature should dominate raw similarity")
			assert.Greater(t, rep.After.MAPAtR, 0.85, "validation mAP@R after training")
			assert.Equal(t, len(train), rep.TrainExamples)
			assert.Equal(t, len(val), rep.ValExamples)
			assert.Equal(t, 4, rep.Classes)
			assert.Equal(t, enc.Info(), rep.Base)
			assert.NotEmpty(t, rep.Epochs)
			assert.Positive(t, rep.Duration)

			before, err := finetune.Evaluate(context.Background(), enc, test)
			require.NoError(t, err)
			after, err := finetune.Evaluate(context.Background(), model, test)
			require.NoError(t, err)
			assert.Greater(t, after.MAPAtR, before.MAPAtR+0.35, "test mAP@R: before %v, after %v", before, after)
			assert.Greater(t, after.PrecisionAtK, before.PrecisionAtK)
		})
	}
}

func TestTrainHoldsOutValidation(t *testing.T) {
	t.Parallel()
	enc, train, _, _ := task(2)
	trainer, err := finetune.NewTrainer(enc, fastOptions(finetune.WithValidationFraction(0.25), finetune.WithEpochs(5))...)
	require.NoError(t, err)
	model, err := trainer.TrainLocal(context.Background(), train, nil)
	require.NoError(t, err)
	rep := model.Report()
	assert.Equal(t, 120, rep.TrainExamples+rep.ValExamples)
	assert.Equal(t, 4*8, rep.ValExamples, "a quarter of each label's 30 examples, rounded")
	assert.Positive(t, rep.Before.Queries)
	assert.Equal(t, rep.ValExamples, rep.After.Queries)

	// Without validation: every epoch runs, the last one is kept.
	trainer, err = finetune.NewTrainer(enc, fastOptions(finetune.WithValidationFraction(0), finetune.WithEpochs(3))...)
	require.NoError(t, err)
	model, err = trainer.TrainLocal(context.Background(), train, nil)
	require.NoError(t, err)
	rep = model.Report()
	assert.Equal(t, 120, rep.TrainExamples)
	assert.Zero(t, rep.ValExamples)
	assert.Equal(t, 3, rep.BestEpoch)
	assert.Zero(t, rep.After)
}

func TestTrainEarlyStopping(t *testing.T) {
	t.Parallel()
	enc, train, val, _ := task(3)
	var epochs []finetune.EpochStats
	trainer, err := finetune.NewTrainer(enc, fastOptions(
		finetune.WithEpochs(200), finetune.WithPatience(2),
		finetune.WithProgress(func(e finetune.EpochStats) { epochs = append(epochs, e) }))...)
	require.NoError(t, err)
	model, err := trainer.TrainLocal(context.Background(), train, val)
	require.NoError(t, err)
	rep := model.Report()
	require.True(t, rep.StoppedEarly, "200 epochs on an easy task should plateau")
	assert.Equal(t, rep.Epochs, epochs, "progress sees every epoch")
	assert.Equal(t, rep.BestEpoch+2, len(rep.Epochs), "stops after patience epochs without a better score")
	best := rep.Epochs[rep.BestEpoch-1]
	assert.True(t, best.Best)
	assert.Equal(t, best.Validation, rep.After)
	for _, e := range rep.Epochs {
		assert.LessOrEqual(t, e.Validation.MAPAtR, best.Validation.MAPAtR)
	}

	// The model has the best epoch's weights: its validation score is the
	// best one, not the last one.
	got, err := finetune.Evaluate(context.Background(), model, val)
	require.NoError(t, err)
	assert.InDelta(t, rep.After.MAPAtR, got.MAPAtR, 1e-6)
}

// TestTrainReproducible checks that a seed fixes the model bit for bit,
// whatever the number of cores.
func TestTrainReproducible(t *testing.T) { // not parallel: changes GOMAXPROCS
	enc, train, val, _ := task(4)
	run := func(procs int, seed uint64) []byte {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		// A batch and a head large enough for the parallel paths.
		trainer, err := finetune.NewTrainer(enc, fastOptions(finetune.WithSeed(seed), finetune.WithEpochs(4),
			finetune.WithHidden(512), finetune.WithBatch(4, 30), finetune.WithInputPCA(12, true),
			finetune.WithDropout(0.1), finetune.WithWeightAveraging(0.9))...)
		require.NoError(t, err)
		model, err := trainer.TrainLocal(context.Background(), train, val)
		require.NoError(t, err)
		var buf bytes.Buffer
		require.NoError(t, model.Save(&buf))
		return weights(t, buf.Bytes(), enc)
	}
	a, b, c := run(2, 7), run(1, 7), run(4, 7)
	assert.True(t, bytes.Equal(a, b), "1 and 2 cores give different weights")
	assert.True(t, bytes.Equal(a, c), "2 and 4 cores give different weights")
	assert.False(t, bytes.Equal(a, run(2, 8)), "another seed gives the same weights")
}

// weights returns the part of a model file that holds the weights (the
// report in the header records durations, which differ between runs).
func weights(t *testing.T, file []byte, base embedding.Encoder) []byte {
	t.Helper()
	m, err := finetune.Load(bytes.NewReader(file), base)
	require.NoError(t, err)
	return []byte(m.Info().Model + "\x00" + string(file[len(file)-4-weightBytes(m):len(file)-4]))
}

func weightBytes(m *finetune.LocalModel) int {
	rep := m.Report()
	in := rep.Base.Dim
	n := 0
	if rep.Config.InputPCA > 0 {
		n += in + rep.Config.InputPCA*in
		in = rep.Config.InputPCA
	}
	for _, w := range append(append([]int(nil), rep.Config.Hidden...), rep.Config.OutputDim) {
		n += in*w + w
		in = w
	}
	return 4 * n
}

func TestTrainCancel(t *testing.T) {
	t.Parallel()
	enc, train, val, _ := task(5)

	t.Run("before start", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		trainer, err := finetune.NewTrainer(enc, fastOptions()...)
		require.NoError(t, err)
		_, err = trainer.Train(ctx, train, val)
		assert.ErrorIs(t, err, context.Canceled)
	})
	t.Run("during training", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		epochs := 0
		trainer, err := finetune.NewTrainer(enc, fastOptions(finetune.WithEpochs(1000),
			finetune.WithProgress(func(finetune.EpochStats) {
				epochs++
				if epochs == 2 {
					cancel()
				}
			}))...)
		require.NoError(t, err)
		_, err = trainer.Train(ctx, train, val)
		assert.ErrorIs(t, err, context.Canceled)
		assert.Equal(t, 2, epochs, "training goes on after cancellation")
	})
}

func TestTrainInvalidExamples(t *testing.T) {
	t.Parallel()
	enc, train, val, _ := task(6)
	vec := func(n int) []float32 { return make([]float32, n) }
	nan := vec(16)
	nan[3] = float32(math.NaN())
	with := func(set []finetune.Example, i int, f func(*finetune.Example)) []finetune.Example {
		out := append([]finetune.Example(nil), set...)
		f(&out[i])
		return out
	}
	cases := []struct {
		name       string
		train, val []finetune.Example
		want       string
	}{
		{"empty set", nil, val, "no training examples"},
		{"one label only", train[:1], nil, "training examples have the label"},
		{"one label, several examples", []finetune.Example{train[0], train[4], train[8]}, nil, `the label "class-0"`},
		{"empty label", with(train, 5, func(e *finetune.Example) { e.Label = "" }), val, `example "train-5": empty label`},
		{"vector of the wrong dimension", with(train, 7, func(e *finetune.Example) { e.Vector = vec(15) }), val,
			`example "train-7": vector of dimension 15, the base encoder has 16`},
		{"NaN vector", with(train, 2, func(e *finetune.Example) { e.Vector = nan }), val, `example "train-2": vector element 3 is NaN`},
		{"bad validation vector", train, with(val, 1, func(e *finetune.Example) { e.Vector = vec(3) }), `validation example "val-1"`},
		{"no pairs", []finetune.Example{train[0], train[1], train[2]}, nil, "no label has two training examples"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			trainer, err := finetune.NewTrainer(enc, fastOptions()...)
			require.NoError(t, err)
			_, err = trainer.Train(context.Background(), c.train, c.val)
			require.ErrorIs(t, err, finetune.ErrInvalidExamples)
			assert.ErrorContains(t, err, c.want)
		})
	}
}

func TestTrainEncoderError(t *testing.T) {
	t.Parallel()
	enc, train, val, _ := task(7)
	enc.fail = "train-11"
	trainer, err := finetune.NewTrainer(enc, fastOptions()...)
	require.NoError(t, err)
	_, err = trainer.Train(context.Background(), train, val)
	require.ErrorIs(t, err, embedding.ErrInvalidInput)
	assert.ErrorContains(t, err, `"train-11"`)
}

func TestNewTrainerInvalidOptions(t *testing.T) {
	t.Parallel()
	enc, _, _, _ := task(8)
	cases := []struct {
		name string
		opt  finetune.Option
		msg  string // package once, then the option and the reason
	}{
		{"hidden width", finetune.WithHidden(0), "finetune: invalid option: WithHidden(0): width 0, want 1 to 16384"},
		{"too many layers", finetune.WithHidden(1, 1, 1, 1, 1, 1, 1, 1, 1), "WithHidden(1, 1, 1, 1, 1, 1, 1, 1, 1): 9 layers, want at most 8"},
		{"output", finetune.WithOutputDim(0), "finetune: invalid option: WithOutputDim(0): want 1 to 16384"},
		{"activation", finetune.WithActivation(7), "WithActivation(Activation(7)): want ReLU or GELU"},
		{"loss", finetune.WithLoss(-1), "WithLoss(Loss(-1)): want SupCon, Triplet or Proxy"},
		{"temperature", finetune.WithTemperature(0), "WithTemperature(0): want more than 0, at most 10"},
		{"NaN temperature", finetune.WithTemperature(math.NaN()), "WithTemperature(NaN)"},
		{"margin", finetune.WithMargin(-1), "WithMargin(-1)"},
		{"batch", finetune.WithBatch(1, 8), "WithBatch(1, 8): want P ≥ 2, K ≥ 2, P·K ≤ 65536"},
		{"per class", finetune.WithBatch(8, 1), "WithBatch(8, 1)"},
		{"epochs", finetune.WithEpochs(0), "finetune: invalid option: WithEpochs(0): want 1 to 100000"},
		{"patience", finetune.WithPatience(-1), "WithPatience(-1): want 0 or more"},
		{"learning rate", finetune.WithLearningRate(0), "WithLearningRate(0)"},
		{"weight decay", finetune.WithWeightDecay(2), "WithWeightDecay(2): want 0 to 1"},
		{"validation", finetune.WithValidationFraction(1), "WithValidationFraction(1)"},
		{"PCA", finetune.WithInputPCA(-1, false), "WithInputPCA(-1, false): want 0 to 16384 components"},
		{"PCA above base", finetune.WithInputPCA(17, false), "WithInputPCA(17, false): base encoder"},
		{"eval k", finetune.WithEvalK(0, 5), "WithEvalK(0, 5): want both at least 1"},
		{"dropout", finetune.WithDropout(1), "WithDropout(1): want 0 to 0.9"},
		{"averaging", finetune.WithWeightAveraging(1), "WithWeightAveraging(1)"},
		{"cache dir", finetune.WithCacheDir(""), `WithCacheDir(""): want a directory`},
		{"nil progress", finetune.WithProgress(nil), "WithProgress(nil)"},
		{"nil logger", finetune.WithLogger(nil), "WithLogger(nil)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			tr, err := finetune.NewTrainer(enc, finetune.WithEpochs(3), c.opt, finetune.WithSeed(2))
			assert.ErrorIs(t, err, finetune.ErrInvalidOption)
			assert.ErrorContains(t, err, c.msg)
			assert.Equal(t, 1, strings.Count(err.Error(), "finetune:"), "package named once: %v", err)
			assert.Nil(t, tr)
		})
	}
	_, err := finetune.NewTrainer(nil)
	assert.ErrorIs(t, err, finetune.ErrInvalidOption)
}

func TestTrainDefaults(t *testing.T) {
	t.Parallel()
	enc, _, _, _ := task(9)
	trainer, err := finetune.NewTrainer(enc)
	require.NoError(t, err)
	cfg := trainer.Config()
	assert.Equal(t, finetune.DefaultHidden, cfg.Hidden)
	assert.Equal(t, finetune.DefaultOutputDim, cfg.OutputDim)
	assert.Equal(t, finetune.SupCon, cfg.Loss)
	assert.Equal(t, finetune.DefaultSeed, int(cfg.Seed))
	cfg.Hidden[0] = 1
	assert.Equal(t, finetune.DefaultHidden, trainer.Config().Hidden, "Config returns a copy")
}

func TestTrainCachesBaseEmbeddings(t *testing.T) {
	t.Parallel()
	enc, train, val, _ := task(10)
	dir := t.TempDir()
	opts := fastOptions(finetune.WithEpochs(3), finetune.WithCacheDir(dir))
	n := int64(len(train) + len(val))

	trainer, err := finetune.NewTrainer(enc, opts...)
	require.NoError(t, err)
	first, err := trainer.TrainLocal(context.Background(), train, val)
	require.NoError(t, err)
	assert.Equal(t, n, enc.encoded.Load(), "every input encoded once")
	assert.Positive(t, first.Report().EncodeDuration)

	// The same trainer: from memory. A grown set: only the new input.
	_, err = trainer.TrainLocal(context.Background(), train, val)
	require.NoError(t, err)
	assert.Equal(t, n, enc.encoded.Load())
	grown := append(append([]finetune.Example(nil), train...), val[0])
	grown[len(grown)-1].Input.ID, grown[len(grown)-1].Input.Text = "new", "val-1"
	_, err = trainer.TrainLocal(context.Background(), grown, val)
	require.NoError(t, err)
	assert.Equal(t, n+1, enc.encoded.Load())

	// Another trainer on the same examples: from the cache directory, and
	// the same model.
	other, err := finetune.NewTrainer(enc, opts...)
	require.NoError(t, err)
	second, err := other.TrainLocal(context.Background(), train, val)
	require.NoError(t, err)
	assert.Equal(t, n+1, enc.encoded.Load(), "nothing encoded")
	assert.Zero(t, second.Report().EncodeDuration)
	assert.Equal(t, first.Info().Model, second.Info().Model)
}

func TestTrainPrecomputedVectors(t *testing.T) {
	t.Parallel()
	enc, train, val, _ := task(11)
	withVectors := make([]finetune.Example, len(train))
	for i, ex := range train {
		withVectors[i] = finetune.Example{Vector: enc.vecs[ex.Input.Text], Label: ex.Label}
	}
	a, err := finetune.NewTrainer(enc, fastOptions(finetune.WithEpochs(3))...)
	require.NoError(t, err)
	fromInputs, err := a.TrainLocal(context.Background(), train, val)
	require.NoError(t, err)
	fromVectors, err := a.TrainLocal(context.Background(), withVectors, val)
	require.NoError(t, err)
	assert.Equal(t, fromInputs.Info().Model, fromVectors.Info().Model, "the same vectors give the same model")
}

func TestModelEncode(t *testing.T) {
	t.Parallel()
	enc, train, val, test := task(12)
	trainer, err := finetune.NewTrainer(enc, fastOptions(finetune.WithEpochs(2))...)
	require.NoError(t, err)
	model, err := trainer.TrainLocal(context.Background(), train, val)
	require.NoError(t, err)

	info := model.Info()
	assert.Equal(t, 8, info.Dim)
	assert.True(t, info.Normalized)
	assert.Regexp(t, `^table/v1 \+ shoal-finetune/v1 head=[0-9a-f]{16} dim=8$`, info.Model)
	assert.Equal(t, enc.Info(), model.BaseInfo())

	inputs := make([]embedding.Input, len(test))
	bases := make([][]float32, len(test))
	for i, ex := range test {
		inputs[i], bases[i] = ex.Input, enc.vecs[ex.Input.Text]
	}
	got, err := model.Encode(context.Background(), inputs)
	require.NoError(t, err)
	require.NoError(t, embedding.CheckOutput(info, inputs, got))
	projected, err := model.Project(bases)
	require.NoError(t, err)
	assert.Equal(t, got, projected, "Encode is base.Encode then Project")
	for _, v := range got {
		assert.InDelta(t, 1, vecmath.Norm(v), 1e-5)
	}

	// A pipeline takes the model unchanged.
	n := 0
	for e, err := range embedding.EncodeAll(context.Background(), model, embedding.Inputs(inputs), embedding.WithBatchSize(7)) {
		require.NoError(t, err)
		assert.Equal(t, got[n], e.Vector)
		n++
	}
	assert.Equal(t, len(inputs), n)

	_, err = model.Project([][]float32{make([]float32, 15)})
	assert.ErrorIs(t, err, finetune.ErrBaseMismatch)
	_, err = model.Project([][]float32{{float32(math.Inf(1)), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}})
	assert.ErrorIs(t, err, finetune.ErrInvalidExamples)
	enc.fail = "test-3"
	_, err = model.Encode(context.Background(), inputs)
	assert.True(t, errors.Is(err, embedding.ErrInvalidInput), "base errors pass through: %v", err)
}

// countingEncoder counts the inputs its Encoder encodes.
type countingEncoder struct {
	embedding.Encoder
	encoded atomic.Int64
}

func (e *countingEncoder) Encode(ctx context.Context, in []embedding.Input) ([][]float32, error) {
	e.encoded.Add(int64(len(in)))
	return e.Encoder.Encode(ctx, in)
}

// TestTrainCacheKeysDecodedPixels checks that the embedding cache tells
// Input.Decoded images apart by their pixels: the same IDs with other
// pixels are encoded again, not served stale base embeddings.
func TestTrainCacheKeysDecodedPixels(t *testing.T) {
	t.Parallel()
	img, err := local.NewImageEncoder(local.WithSide(4))
	require.NoError(t, err)
	enc := &countingEncoder{Encoder: img}
	examples := func(shift uint8) []finetune.Example {
		var ex []finetune.Example
		for i := range 16 {
			g := image.NewGray(image.Rect(0, 0, 4, 4))
			for p := range g.Pix {
				g.Pix[p] = uint8(i*13+p*(1+i%2)) + shift
			}
			ex = append(ex, finetune.Example{Input: embedding.Input{ID: fmt.Sprint("item-", i), Decoded: g}, Label: fmt.Sprint(i % 2)})
		}
		return ex
	}
	trainer, err := finetune.NewTrainer(enc, fastOptions(finetune.WithEpochs(2), finetune.WithValidationFraction(0))...)
	require.NoError(t, err)
	_, err = trainer.TrainLocal(context.Background(), examples(0), nil)
	require.NoError(t, err)
	assert.Equal(t, int64(16), enc.encoded.Load())
	_, err = trainer.TrainLocal(context.Background(), examples(0), nil)
	require.NoError(t, err)
	assert.Equal(t, int64(16), enc.encoded.Load(), "the same pixels: from the cache")
	_, err = trainer.TrainLocal(context.Background(), examples(40), nil)
	require.NoError(t, err)
	assert.Equal(t, int64(32), enc.encoded.Load(), "other pixels under the same IDs: encoded again")
}
