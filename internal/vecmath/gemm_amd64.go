package vecmath

// FastSgemm reports whether [Sgemm] uses the AVX2/FMA assembly kernel (see
// Sgemm for why it is kept). A benchmark may set it to false to time the
// portable paths: Sgemm in plain Go, and gonum in package finetune.
var FastSgemm = hasAVX2FMA()

// sgemmKernel6x16 computes c[6×16] = ap·b (accumulate == 0) or
// c[6×16] += ap·b (accumulate != 0) with AVX2 fused multiply-adds: ap holds
// k columns of 6 floats, b has k rows of 16 floats at stride ldb (in
// floats), c has 6 rows of 16 floats at stride ldc.
//
//go:noescape
func sgemmKernel6x16(k int, ap, b *float32, ldb int, c *float32, ldc int, accumulate int)

func cpuid(eaxArg, ecxArg uint32) (eax, ebx, ecx, edx uint32)

func xgetbv() (eax, edx uint32)

// hasAVX2FMA reports whether the CPU supports AVX2 and FMA and the
// operating system saves the YMM registers.
func hasAVX2FMA() bool {
	maxID, _, _, _ := cpuid(0, 0)
	if maxID < 7 {
		return false
	}
	_, _, ecx1, _ := cpuid(1, 0)
	const (
		fma     = 1 << 12
		osxsave = 1 << 27
		avx     = 1 << 28
	)
	if ecx1&(fma|osxsave|avx) != fma|osxsave|avx {
		return false
	}
	if xcr0, _ := xgetbv(); xcr0&6 != 6 { // XMM and YMM state enabled
		return false
	}
	_, ebx7, _, _ := cpuid(7, 0)
	return ebx7&(1<<5) != 0 // AVX2
}
