package finetune

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"slices"

	"github.com/shoalhq/shoal/embedding"
	"github.com/shoalhq/shoal/internal/vecmath"
)

// LocalModel is an adapter trained by [LocalTrainer] over its base
// encoder. It implements [Model]: Encode embeds inputs with the base encoder
// and maps the base embeddings through the adapter to unit vectors.
//
// Info().Model is the base model's name followed by
// " + shoal-finetune/v1 head=<hash> dim=<n>", where the hash is derived
// from the adapter's shape and weights, so two different trainings never
// share a store namespace. Dim is the output dimension and Normalized is
// true; batch limits are the base encoder's.
//
// A LocalModel is immutable and safe for concurrent use. Save it with
// [LocalModel.Save] and load it back over the same base encoder with
// [Load].
type LocalModel struct {
	base     embedding.Encoder
	baseInfo embedding.Info
	head     *head
	info     embedding.Info
	report   Report
}

var _ Model = (*LocalModel)(nil)

// newLocalModel wraps a trained head.
func newLocalModel(base embedding.Encoder, baseInfo embedding.Info, h *head, report Report) *LocalModel {
	m := &LocalModel{base: base, baseInfo: baseInfo, head: h, report: report}
	digest := h.digest()
	m.info = embedding.Info{
		Model:         fmt.Sprintf("%s + shoal-finetune/v1 head=%s dim=%d", baseInfo.Model, hex.EncodeToString(digest[:8]), h.outDim()),
		Dim:           h.outDim(),
		Normalized:    true,
		MaxBatch:      baseInfo.MaxBatch,
		MaxBatchBytes: baseInfo.MaxBatchBytes,
	}
	return m
}

// Info describes the fine-tuned encoder (see [LocalModel]).
func (m *LocalModel) Info() embedding.Info { return m.info }

// BaseInfo describes the base encoder the adapter was trained over.
func (m *LocalModel) BaseInfo() embedding.Info { return m.baseInfo }

// Report describes the training run that produced the model.
func (m *LocalModel) Report() Report {
	r := m.report
	r.Config.Hidden = slices.Clone(r.Config.Hidden)
	r.Epochs = slices.Clone(r.Epochs)
	return r
}

// Encode embeds the inputs with the base encoder, then maps each base
// embedding through the adapter. Errors of the base encoder are returned
// as they are (so EncodeAll still retries the transient ones); a base
// embedding of the wrong dimension or with NaN/Inf values is an error
// wrapping [embedding.ErrBadOutput].
func (m *LocalModel) Encode(ctx context.Context, in []embedding.Input) ([][]float32, error) {
	if len(in) == 0 {
		return [][]float32{}, nil
	}
	vecs, err := m.base.Encode(ctx, in)
	if err != nil {
		return nil, err
	}
	if err := embedding.CheckOutput(m.baseInfo, in, vecs); err != nil {
		return nil, fmt.Errorf("base encoder %q: %w", m.baseInfo.Model, err)
	}
	return m.project(ctx, vecs)
}

// Project maps precomputed base embeddings (as returned by the base
// encoder's Encode, for example vectors already in a store) through the
// adapter, without calling the base encoder. A vector of the wrong
// dimension is an error wrapping [ErrBaseMismatch], one with NaN or Inf
// values an error wrapping [ErrInvalidExamples]; both name the vector's
// position.
func (m *LocalModel) Project(vecs [][]float32) ([][]float32, error) {
	for i, v := range vecs {
		if len(v) != m.baseInfo.Dim {
			return nil, fmt.Errorf("%w: vector %d has dimension %d, the base encoder %q has %d",
				ErrBaseMismatch, i, len(v), m.baseInfo.Model, m.baseInfo.Dim)
		}
		if j := vecmath.Finite(v); j >= 0 {
			return nil, fmt.Errorf("%w: vector %d: element %d is %v", ErrInvalidExamples, i, j, v[j])
		}
	}
	return m.project(context.Background(), vecs)
}

// project runs the head on checked base embeddings.
func (m *LocalModel) project(ctx context.Context, vecs [][]float32) ([][]float32, error) {
	n, d, out := len(vecs), m.baseInfo.Dim, m.head.outDim()
	x := make([]float32, 0, n*d)
	for _, v := range vecs {
		x = append(x, v...)
	}
	y := make([]float32, n*out)
	if err := m.head.project(ctx, y, x, n); err != nil {
		return nil, err
	}
	res := make([][]float32, n)
	for i := range res {
		res[i] = y[i*out : (i+1)*out : (i+1)*out]
	}
	return res, nil
}

// digest hashes the head's shape and parameters.
func (h *head) digest() [32]byte {
	s := sha256.New()
	var b [8]byte
	put := func(v int) {
		binary.LittleEndian.PutUint64(b[:], uint64(v))
		s.Write(b[:])
	}
	floats := func(x []float32) {
		put(len(x))
		for _, f := range x {
			binary.LittleEndian.PutUint32(b[:4], math.Float32bits(f))
			s.Write(b[:4])
		}
	}
	s.Write([]byte("shoal-finetune/v1"))
	put(h.inDim)
	put(h.pcaDim)
	put(int(h.act))
	floats(h.mean)
	floats(h.proj)
	for _, l := range h.layers {
		put(l.in)
		put(l.out)
		floats(l.w)
		floats(l.b)
	}
	var out [32]byte
	s.Sum(out[:0])
	return out
}
