package finetune_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shoalhq/shoal/embedding"
	"github.com/shoalhq/shoal/finetune"
)

func TestLabeled(t *testing.T) {
	t.Parallel()
	in := []embedding.Input{
		{ID: "a", Text: "x", Metadata: map[string]any{"label": "cat", "path": "a.png"}},
		{ID: "b", Metadata: map[string]any{"label": int64(3)}},
		{ID: "c", Metadata: map[string]any{"label": 7}},
		{ID: "d", Metadata: map[string]any{"label": float64(2)}}, // a JSON number
	}
	got, err := finetune.Labeled(in, "label")
	require.NoError(t, err)
	require.Len(t, got, 4)
	assert.Equal(t, finetune.Example{Input: in[0], Label: "cat"}, got[0], "the input is kept, metadata included")
	assert.Equal(t, []string{"cat", "3", "7", "2"}, []string{got[0].Label, got[1].Label, got[2].Label, got[3].Label})

	empty, err := finetune.Labeled(nil, "label")
	require.NoError(t, err)
	assert.Empty(t, empty)

	bad := []struct {
		name string
		in   embedding.Input
		msg  string
	}{
		{"missing", embedding.Input{ID: "x1"}, `finetune: invalid examples: example "x1": no metadata "label"`},
		{"empty", embedding.Input{ID: "x2", Metadata: map[string]any{"label": ""}}, `example "x2": metadata "label": empty label`},
		{"fraction", embedding.Input{ID: "x3", Metadata: map[string]any{"label": 1.5}}, `example "x3": metadata "label": label 1.5 is not an integer`},
		{"type", embedding.Input{ID: "x4", Metadata: map[string]any{"label": true}}, `example "x4": metadata "label": label of type bool`},
		{"no ID", embedding.Input{}, `example 1: no metadata "label"`},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, err := finetune.Labeled([]embedding.Input{in[0], c.in}, "label")
			assert.ErrorIs(t, err, finetune.ErrInvalidExamples)
			assert.ErrorContains(t, err, c.msg)
			assert.True(t, strings.HasPrefix(err.Error(), "finetune: invalid examples: example "), err.Error())
		})
	}
	_, err = finetune.Labeled(in, "")
	assert.ErrorIs(t, err, finetune.ErrInvalidOption)
}
