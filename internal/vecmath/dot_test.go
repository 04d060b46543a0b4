package vecmath

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestNormalizeRows(t *testing.T) {
	t.Parallel()
	norms := make([]float32, 3)
	rows := []float32{3, 4, 0, 0, 0, 2}
	NormalizeRows(rows, 2, norms)
	assert.Equal(t, []float32{5, 0, 2}, norms)
	assert.Equal(t, []float32{0.6, 0.8, 0, 0, 0, 1}, rows)
}
