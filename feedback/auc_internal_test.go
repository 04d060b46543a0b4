package feedback

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestAUC(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		scores []float32
		labels []bool
		want   float64
	}{
		{"perfect", []float32{0.9, 0.8, 0.1, 0.2}, []bool{true, true, false, false}, 1},
		{"inverted", []float32{0.1, 0.2, 0.9, 0.8}, []bool{true, true, false, false}, 0},
		{"all tied", []float32{1, 1, 1, 1}, []bool{true, false, true, false}, 0.5},
		{"one of four pairs wrong", []float32{0.9, 0.3, 0.5, 0.1}, []bool{true, true, false, false}, 0.75},
		{"a tie across classes", []float32{0.5, 0.9, 0.5, 0.1}, []bool{true, true, false, false}, 0.875},
		{"unbalanced", []float32{3, 1, 2, 0, -1}, []bool{true, false, false, false, false}, 1},
	}
	for _, tt := range tests {
		assert.InDelta(t, tt.want, auc(tt.scores, tt.labels), 1e-12, tt.name)
	}
}
