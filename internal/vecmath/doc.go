// Package vecmath holds Shoal's numeric kernels: the one place for hot
// loops, so that every store, trainer, reranker and encoder shares the same
// code. It is internal: callers validate user input first, and a kernel
// given slices whose lengths do not fit panics rather than return an error.
//
// Files are organised by operation, not by the package that calls them:
//
//   - dot.go: dot products, norms and normalisation ([Dot], [Dot8],
//     [DotRows], [DotU8], [DotU8Rows], [Norm], [Normalize], [Normalized],
//     [NormalizeRows]). Cosine
//     similarity is the dot product of normalised vectors.
//   - distance.go: squared Euclidean distances ([SquaredL2],
//     [SquaredL2x8], [SquaredL2Rows]).
//   - kernels_amd64.go: the AVX2/FMA assembly behind [Dot8], [DotRows],
//     [SquaredL2x8], [SquaredL2Rows], [DotU8], [DotU8Rows] and the gather
//     kernels (kernels_amd64.s, generated with avo by _asm; Go in kernels_other.go
//     elsewhere and with the purego build tag), checked against the Go
//     loops and benchmarked side by side in kernels_test.go.
//   - gather.go: the distance kernels over scattered rows of a slab, named
//     by their indices, for graph searches ([DotGather],
//     [SquaredL2Gather], [DotU8Gather]); the assembly prefetches the next
//     row while it scores the current one.
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
