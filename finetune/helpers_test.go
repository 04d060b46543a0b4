package finetune_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync/atomic"

	"github.com/shoalhq/shoal/embedding"
	"github.com/shoalhq/shoal/finetune"
)

// tableEncoder is a fake base encoder: Input.Text names a vector in a table.
// It counts the inputs it encodes, so tests can see the cache at work.
type tableEncoder struct {
	model   string
	dim     int
	vecs    map[string][]float32
	encoded atomic.Int64
	fail    string // Encode rejects this text
}

func (e *tableEncoder) Info() embedding.Info { return embedding.Info{Model: e.model, Dim: e.dim} }

func (e *tableEncoder) Encode(ctx context.Context, in []embedding.Input) ([][]float32, error) {
	out := make([][]float32, len(in))
	for i, x := range in {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		v, ok := e.vecs[x.Text]
		if !ok || x.Text == e.fail {
			return nil, fmt.Errorf("%w: input %q: unknown text %q", embedding.ErrInvalidInput, x.ID, x.Text)
		}
		out[i] = append([]float32(nil), v...)
	}
	e.encoded.Add(int64(len(in)))
	return out, nil
}

// synthetic builds a task where raw similarity disagrees with the labels:
// each item's vector is dominated by a "nuisance" cluster (think background
// colour) drawn independently of its label, while the label shows only in
// a weak feature. It returns perLabel·labels examples whose Input.Text keys
// the vectors registered in enc.
type synthetic struct {
	labels, dim int
	nuisance    [][]float32 // cluster centres, strong
	signal      [][]float32 // label centres, weak
}

func newSynthetic(labels, dim int, seed uint64) *synthetic {
	rng := rand.New(rand.NewPCG(seed, 99))
	s := &synthetic{labels: labels, dim: dim}
	for range 4 {
		c := make([]float32, dim)
		for j := range dim / 2 {
			c[j] = float32(rng.NormFloat64() * 3)
		}
		s.nuisance = append(s.nuisance, c)
	}
	for range labels {
		c := make([]float32, dim)
		for j := dim / 2; j < dim; j++ {
			c[j] = float32(rng.NormFloat64() * 0.6)
		}
		s.signal = append(s.signal, c)
	}
	return s
}

// examples draws perLabel examples of every label, registering their
// vectors in enc under "prefix-i".
func (s *synthetic) examples(enc *tableEncoder, prefix string, perLabel int, seed uint64) []finetune.Example {
	rng := rand.New(rand.NewPCG(seed, 7))
	var out []finetune.Example
	for i := range perLabel * s.labels {
		label := i % s.labels
		n := s.nuisance[rng.IntN(len(s.nuisance))]
		v := make([]float32, s.dim)
		for j := range v {
			v[j] = n[j] + s.signal[label][j] + float32(rng.NormFloat64()*0.25)
		}
		key := fmt.Sprintf("%s-%d", prefix, i)
		enc.vecs[key] = v
		out = append(out, finetune.Example{
			Input: embedding.Input{ID: key, Text: key},
			Label: fmt.Sprintf("class-%d", label),
		})
	}
	return out
}

// task returns a fresh encoder with train, validation and test sets of the
// synthetic task.
func task(seed uint64) (enc *tableEncoder, train, val, test []finetune.Example) {
	s := newSynthetic(4, 16, seed)
	enc = &tableEncoder{model: "table/v1", dim: 16, vecs: map[string][]float32{}}
	return enc, s.examples(enc, "train", 30, seed+1), s.examples(enc, "val", 10, seed+2), s.examples(enc, "test", 15, seed+3)
}

// fastOptions keeps training short in tests.
func fastOptions(extra ...finetune.Option) []finetune.Option {
	return append([]finetune.Option{
		finetune.WithHidden(32),
		finetune.WithOutputDim(8),
		finetune.WithBatch(4, 8),
		finetune.WithEpochs(150),
		finetune.WithPatience(0),
		finetune.WithLearningRate(5e-3),
	}, extra...)
}
