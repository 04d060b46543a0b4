//go:build !amd64 || purego

package vecmath

// Without AVX2 assembly (another architecture, or the purego build tag),
// the distance kernels run in Go; see kernels_amd64.go.

// useAsm reports whether the kernels run as assembly; here they never do,
// and the stand-ins below are never called.
const useAsm = false

const noAsm = "vecmath: no assembly kernels in this build"

func dotAsm(a, b []float32) float32                                                    { panic(noAsm) }
func squaredL2Asm(a, b []float32) float32                                              { panic(noAsm) }
func dotU8Asm(q []float32, codes []uint8) float32                                      { panic(noAsm) }
func dotRowsAsm(q, rows, out []float32)                                                { panic(noAsm) }
func squaredL2RowsAsm(q, rows, out []float32)                                          { panic(noAsm) }
func dotU8RowsAsm(q []float32, codes []uint8, out []float32)                           { panic(noAsm) }
func dotGatherAsm(q, slab []float32, ids []int32, out []float32, lines int)            { panic(noAsm) }
func squaredL2GatherAsm(q, slab []float32, ids []int32, out []float32, lines int)      { panic(noAsm) }
func dotU8GatherAsm(q []float32, codes []uint8, ids []int32, out []float32, lines int) { panic(noAsm) }
