// Package vecmath holds Shoal's numeric kernels: the one place for hot
// loops, so that every store, trainer, reranker and encoder shares the same
// code. It is internal: callers validate user input first, and a kernel
// given slices whose lengths do not fit panics rather than return an error.
//
// Files are organised by operation, not by the package that calls them:
//
//   - dot.go: dot products, norms and normalisation ([Dot], [DotRows],
//     [Norm], [Normalize], [Normalized], [NormalizeRows]). Cosine
//     similarity is the dot product of normalised vectors.
//   - distance.go: squared Euclidean distances ([SquaredL2],
//     [SquaredL2Rows]).
//   - axpy.go: scaled additions dst += s·x and their matrix-vector forms
//     ([AddScaled], [AddScaledRows], [AddScaledSquaredRows],
//     [Lerp]).
//   - elementwise.go: elementwise passes over vectors and matrices
//     ([Finite], [Mul], [AddRowVector], [AddColumnSums]).
//   - gemm.go: matrix products ([Sgemm]); gemm_amd64.s is its AVX2/FMA
//     micro-kernel ([FastSgemm]), benchmarked against gonum and plain Go
//     in gemm_test.go.
//   - topk.go: selection of the best items ([TopK] over one stream of
//     scores, [NearestK] per query over blocks of distances).
//   - activation.go: [ReLU], [GELU] and their gradients.
//   - adamw.go: the [AdamW] optimiser step.
//   - signs.go: sums of ±1 vectors given as sign bits ([AddSignedBits],
//     [SignCounter]), for random projections.
//   - pow.go: a fast float32 power ([Pow32]).
//   - layout.go: the gradient step of a 2-D neighbour-preserving layout
//     ([AttractRepel2D]).
//
// Matrices are row-major: row i of a slab of dimension d is
// slab[i*d : (i+1)*d]. Every kernel runs on the calling goroutine with an
// order of operations fixed by the shapes, so results are bit-identical
// from run to run.
package vecmath
