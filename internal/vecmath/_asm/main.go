// Command _asm generates internal/vecmath's AVX2/FMA distance kernels
// (kernels_amd64.s and the Go declarations in kernels_amd64_stubs.go) with
// github.com/mmcloughlin/avo. Run it through go generate in
// internal/vecmath (see kernels_amd64.go):
//
//	go run -C _asm . -out ../kernels_amd64.s -stubs ../kernels_amd64_stubs.go -pkg vecmath
//
// It is a module of its own, so avo is a dependency of this generator only,
// never of the SDK; the go tool ignores directories whose names start with
// "_", so ./... patterns in the SDK skip it.
//
// Why avo rather than hand-written assembly or Go's simd package: the
// kernels are a short, reviewable Go program (register allocation, frame
// sizes and argument offsets are avo's, checked by go vet's asmdecl on the
// generated file), and the generated .s builds with a default `go build`.
// Go 1.26's experimental simd package needs GOEXPERIMENT=simd at build
// time, so an SDK user's ordinary build would never get the fast path.
package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// kind is the per-element operation a kernel accumulates.
type kind int

const (
	dot     kind = iota // Σ a[j]·b[j], a and b float32
	squared             // Σ (a[j]-b[j])², a and b float32
	dotU8               // Σ a[j]·float32(b[j]), a float32, b uint8
)

// bstride is the size in bytes of one element of the second operand.
func (k kind) bstride() int {
	if k == dotU8 {
		return 1
	}
	return 4
}

// unroll is the number of independent 8-wide accumulators of the main loop:
// enough to hide the fused multiply-add's latency (4 cycles, two a cycle),
// so that the loop is bound by its loads.
const unroll = 4

func main() {
	ConstraintExpr("amd64,!purego")

	pair("dotAsm", dot, "func(a, b []float32) float32",
		"dotAsm returns Σ a[j]·b[j] over j < len(a); len(b) must be at least len(a).")
	pair("squaredL2Asm", squared, "func(a, b []float32) float32",
		"squaredL2Asm returns Σ (a[j]-b[j])² over j < len(a); len(b) must be at least len(a).")
	pair("dotU8Asm", dotU8, "func(q []float32, codes []uint8) float32",
		"dotU8Asm returns Σ q[j]·float32(codes[j]) over j < len(q); len(codes) must be at least len(q).")

	rows("dotRowsAsm", dot, "func(q, rows, out []float32)",
		"dotRowsAsm sets out[i] = dotAsm(q, rows[i·len(q):]) for every i < len(out);",
		"rows must hold at least len(out)·len(q) elements.")
	rows("squaredL2RowsAsm", squared, "func(q, rows, out []float32)",
		"squaredL2RowsAsm sets out[i] = squaredL2Asm(q, rows[i·len(q):]) for every i < len(out);",
		"rows must hold at least len(out)·len(q) elements.")
	rows("dotU8RowsAsm", dotU8, "func(q []float32, codes []uint8, out []float32)",
		"dotU8RowsAsm sets out[i] = dotU8Asm(q, codes[i·len(q):]) for every i < len(out);",
		"codes must hold at least len(out)·len(q) bytes.")

	gather("dotGatherAsm", dot, "func(q, slab []float32, ids []int32, out []float32, lines int)",
		"dotGatherAsm sets out[i] = dotAsm(q, slab[ids[i]·len(q):]) for every i < len(ids),",
		"prefetching the first lines cache lines of row ids[i+1] first; len(out) must be at",
		"least len(ids), and every row ids[i] must lie within slab.")
	gather("squaredL2GatherAsm", squared, "func(q, slab []float32, ids []int32, out []float32, lines int)",
		"squaredL2GatherAsm sets out[i] = squaredL2Asm(q, slab[ids[i]·len(q):]) for every i < len(ids),",
		"prefetching the first lines cache lines of row ids[i+1] first; len(out) must be at",
		"least len(ids), and every row ids[i] must lie within slab.")
	gather("dotU8GatherAsm", dotU8, "func(q []float32, codes []uint8, ids []int32, out []float32, lines int)",
		"dotU8GatherAsm sets out[i] = dotU8Asm(q, codes[ids[i]·len(q):]) for every i < len(ids),",
		"prefetching the first lines cache lines of row ids[i+1] first; len(out) must be at",
		"least len(ids), and every row ids[i] must lie within codes.")

	Generate()
}

// pair emits a kernel over one pair of vectors.
func pair(name string, k kind, sig string, doc ...string) {
	TEXT(name, NOSPLIT, sig)
	Doc(doc...)
	a, b, n := GP64(), GP64(), GP64()
	Load(ParamIndex(0).Base(), a)
	Load(ParamIndex(1).Base(), b)
	Load(ParamIndex(0).Len(), n)
	s := body(k, a, b, n, "")
	VZEROUPPER() // before Store's SSE MOVSS: no AVX-SSE transition
	Store(s, ReturnIndex(0))
	RET()
}

// rows emits a kernel of q against every row of a slab. Each row runs
// exactly the instructions of the pair kernel, so its result is bit for bit
// the pair kernel's.
func rows(name string, k kind, sig string, doc ...string) {
	TEXT(name, NOSPLIT, sig)
	Doc(doc...)
	q := Load(ParamIndex(0).Base(), GP64())
	d := Load(ParamIndex(0).Len(), GP64())
	row := Load(ParamIndex(1).Base(), GP64())
	out := Load(ParamIndex(2).Base(), GP64())
	left := Load(ParamIndex(2).Len(), GP64())

	Label("row")
	TESTQ(left, left)
	JZ(LabelRef("end"))
	a, b, n := GP64(), GP64(), GP64()
	MOVQ(q, a)
	MOVQ(row, b)
	MOVQ(d, n)
	s := body(k, a, b, n, "_r")
	VMOVSS(s, Mem{Base: out})
	ADDQ(U8(4), out)
	MOVQ(b, row) // body leaves b at the end of this row, the start of the next
	DECQ(left)
	JMP(LabelRef("row"))

	Label("end")
	VZEROUPPER()
	RET()
}

// gather emits a kernel of q against the rows ids[0], ids[1], … of a slab,
// for graph searches, whose rows are scattered: before scoring row ids[i]
// it prefetches (PREFETCHT0) the first lines cache lines of row ids[i+1],
// so that the memory fetches that row while this one is scored, as
// hnswlib's searchBaseLayerST does with _mm_prefetch. Each row runs exactly
// the instructions of the pair kernel, so its result is bit for bit the
// pair kernel's. The ids must be non-negative (they are zero-extended) and
// in range: the Go caller checks them.
func gather(name string, k kind, sig string, doc ...string) {
	TEXT(name, NOSPLIT, sig)
	Doc(doc...)
	q := Load(ParamIndex(0).Base(), GP64())
	d := Load(ParamIndex(0).Len(), GP64())
	slab := Load(ParamIndex(1).Base(), GP64())
	ids := Load(ParamIndex(2).Base(), GP64())
	left := Load(ParamIndex(2).Len(), GP64())
	out := Load(ParamIndex(3).Base(), GP64())
	lines := Load(ParamIndex(4), GP64())
	stride := GP64() // bytes per row
	MOVQ(d, stride)
	if k.bstride() == 4 {
		SHLQ(U8(2), stride)
	}

	Label("row_g")
	TESTQ(left, left)
	JZ(LabelRef("end_g"))
	CMPQ(left, U8(1))
	JE(LabelRef("score_g")) // no next row
	next, c := GP64(), GP64()
	MOVLQZX(Mem{Base: ids, Disp: 4}, next)
	IMULQ(stride, next)
	ADDQ(slab, next)
	MOVQ(lines, c)
	Label("prefetch_g")
	TESTQ(c, c)
	JZ(LabelRef("score_g"))
	PREFETCHT0(Mem{Base: next})
	ADDQ(U8(64), next)
	DECQ(c)
	JMP(LabelRef("prefetch_g"))

	Label("score_g")
	a, b, n := GP64(), GP64(), GP64()
	MOVLQZX(Mem{Base: ids}, b)
	IMULQ(stride, b)
	ADDQ(slab, b)
	MOVQ(q, a)
	MOVQ(d, n)
	s := body(k, a, b, n, "_g")
	VMOVSS(s, Mem{Base: out})
	ADDQ(U8(4), out)
	ADDQ(U8(4), ids)
	DECQ(left)
	JMP(LabelRef("row_g"))

	Label("end_g")
	VZEROUPPER()
	RET()
}

// body emits the accumulation of n elements of a (float32) against b,
// advancing a and b past them and leaving n at zero, and returns the XMM
// register that holds the float32 result. Order: a main loop of unroll×8
// elements into unroll accumulators, a loop of 8 into the first, the
// accumulators summed pairwise ((0+1)+(2+3)) and then across lanes, and a
// scalar tail of the last n mod 8 elements added one at a time.
func body(k kind, a, b, n GPVirtual, suffix string) VecVirtual {
	label := func(s string) string { return s + suffix }
	acc := make([]VecVirtual, unroll)
	for i := range acc {
		acc[i] = YMM()
		VXORPS(acc[i], acc[i], acc[i])
	}

	Label(label("loop32"))
	CMPQ(n, U8(8*unroll))
	JL(LabelRef(label("loop8")))
	for i := range acc {
		step(k, a, b, i, acc[i])
	}
	ADDQ(U32(4*8*unroll), a)
	ADDQ(U32(k.bstride()*8*unroll), b)
	SUBQ(U8(8*unroll), n)
	JMP(LabelRef(label("loop32")))

	Label(label("loop8"))
	CMPQ(n, U8(8))
	JL(LabelRef(label("reduce")))
	step(k, a, b, 0, acc[0])
	ADDQ(U8(4*8), a)
	ADDQ(U8(k.bstride()*8), b)
	SUBQ(U8(8), n)
	JMP(LabelRef(label("loop8")))

	Label(label("reduce"))
	VADDPS(acc[1], acc[0], acc[0])
	VADDPS(acc[3], acc[2], acc[2])
	VADDPS(acc[2], acc[0], acc[0])
	s, t := XMM(), XMM()
	VEXTRACTF128(U8(1), acc[0], t)
	VADDPS(t, acc[0].AsX(), s) // 4 lanes: lo + hi
	VMOVHLPS(s, s, t)
	VADDPS(t, s, s) // 2 lanes
	VMOVSHDUP(s, t)
	VADDSS(t, s, s) // 1 lane

	Label(label("tail"))
	TESTQ(n, n)
	JZ(LabelRef(label("done")))
	x := XMM()
	switch k {
	case dot:
		VMOVSS(Mem{Base: a}, x)
		VFMADD231SS(Mem{Base: b}, x, s)
	case squared:
		VMOVSS(Mem{Base: a}, x)
		VSUBSS(Mem{Base: b}, x, x)
		VFMADD231SS(x, x, s)
	case dotU8:
		c := GP32()
		MOVBLZX(Mem{Base: b}, c)
		VCVTSI2SSL(c, x, x)
		VFMADD231SS(Mem{Base: a}, x, s)
	default:
		panic(fmt.Sprintf("unknown kind %d", k))
	}
	ADDQ(U8(4), a)
	ADDQ(U8(k.bstride()), b)
	DECQ(n)
	JMP(LabelRef(label("tail")))

	Label(label("done"))
	return s
}

// step accumulates the i-th block of 8 elements at a and b into acc.
func step(k kind, a, b GPVirtual, i int, acc VecVirtual) {
	x := YMM()
	switch k {
	case dot:
		VMOVUPS(Mem{Base: a, Disp: 32 * i}, x)
		VFMADD231PS(Mem{Base: b, Disp: 32 * i}, x, acc)
	case squared:
		VMOVUPS(Mem{Base: a, Disp: 32 * i}, x)
		VSUBPS(Mem{Base: b, Disp: 32 * i}, x, x)
		VFMADD231PS(x, x, acc)
	case dotU8:
		VPMOVZXBD(Mem{Base: b, Disp: 8 * i}, x) // 8 bytes → 8 int32
		VCVTDQ2PS(x, x)
		VFMADD231PS(Mem{Base: a, Disp: 32 * i}, x, acc)
	default:
		panic(fmt.Sprintf("unknown kind %d", k))
	}
}
