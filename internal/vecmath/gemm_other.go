//go:build !amd64

package vecmath

// FastSgemm reports whether [Sgemm] uses an assembly kernel; on this
// architecture it does not.
var FastSgemm = false

func sgemmKernel6x16(k int, ap, b *float32, ldb int, c *float32, ldc int, accumulate int) {
	sgemmKernel6x16Go(k, ap, b, ldb, c, ldc, accumulate)
}
