package indextest

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRunOptions(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		opts    []Option
		want    runConfig
		wantErr string
	}{
		{"Exact", nil, runConfig{target: 1, recallSize: DefaultExactRecallSize}, ""},
		{"Recall", []Option{WithRecall(0.95)}, runConfig{approximate: true, target: 0.95, recallSize: DefaultRecallSize}, ""},
		{"RecallOne", []Option{WithRecall(1)}, runConfig{approximate: true, target: 1, recallSize: DefaultRecallSize}, ""},
		{"RecallSize", []Option{WithRecallSize(500)}, runConfig{target: 1, recallSize: 500}, ""},
		{"RecallAndSize", []Option{WithRecallSize(10000), WithRecall(0.9)}, runConfig{approximate: true, target: 0.9, recallSize: 10000}, ""},
		{"RecallZero", []Option{WithRecall(0)}, runConfig{}, "indextest.WithRecall: target 0, want a recall in (0, 1]"},
		{"RecallAboveOne", []Option{WithRecall(1.5)}, runConfig{}, "indextest.WithRecall: target 1.5"},
		{"RecallNaN", []Option{WithRecall(math.NaN())}, runConfig{}, "indextest.WithRecall: target NaN"},
		{"RecallSizeSmall", []Option{WithRecallSize(99)}, runConfig{}, "indextest.WithRecallSize(99): want at least 100 records"},
		{"NilOption", []Option{WithRecall(0.9), nil}, runConfig{}, "indextest.Run: option 1 is nil"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			got, err := newRunConfig(c.opts)
			if c.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), c.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, c.want, got)
		})
	}
}
