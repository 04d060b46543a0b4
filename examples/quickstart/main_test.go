package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shoalhq/shoal/examples/internal/dataset"
)

// writeFolder writes a labeled folder of two shapes (dataset.WriteShapes).
func writeFolder(t *testing.T, perClass int) string {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, dataset.WriteShapes(dir, perClass))
	return dir
}

func TestRunOnFolder(t *testing.T) {
	t.Parallel()
	dir := writeFolder(t, 12)
	for _, agg := range []string{"mean", "max", "rrf"} {
		var out, status bytes.Buffer
		err := run(context.Background(), config{data: dir, class: "corner", bucket: 3, k: 5, seed: 1, agg: agg}, &out, &status)
		require.NoError(t, err, agg)
		assert.Contains(t, out.String(), "precision@5 = 1.00 (5 of 5 results are \"corner\")", agg)
		assert.Contains(t, status.String(), "24/24 images")
	}
}

func TestRunFineTuneAndFeedback(t *testing.T) {
	t.Parallel()
	dir := writeFolder(t, 30)
	var out bytes.Buffer
	cfg := config{data: dir, class: "corner", bucket: 3, k: 5, seed: 2, agg: "mean", epochs: 4, rounds: 2}
	require.NoError(t, run(context.Background(), cfg, &out, &bytes.Buffer{}))
	got := out.String()
	assert.Contains(t, got, "Fine-tuning on 48 images (12 held out for the measure)")
	assert.Regexp(t, `fine-tuned +0\.\d+ +1\.000`, got)
	assert.Contains(t, got, "shoal-finetune/v1")
	assert.Equal(t, 2, strings.Count(got, "precision@5 = 1.00"), got)
	assert.Regexp(t, `(?m)^0 +1\.00 \(similarity\) +1\.00 \(similarity\)$`, got)
	assert.Regexp(t, `(?m)^2 +1\.00 \(\w+\) +1\.00 \(\w+\)$`, got)
}

func TestRunPersistentStore(t *testing.T) {
	t.Parallel()
	dir := writeFolder(t, 4)
	store := filepath.Join(t.TempDir(), "idx")
	var out bytes.Buffer
	cfg := config{data: dir, class: "square", bucket: 2, k: 2, seed: 1, agg: "max", storeDir: store}
	require.NoError(t, run(context.Background(), cfg, &out, &bytes.Buffer{}))
	assert.Contains(t, out.String(), "precision@2 = 1.00")
	entries, err := os.ReadDir(store)
	require.NoError(t, err)
	assert.NotEmpty(t, entries)
	// Running again on the same directory overwrites the same IDs.
	out.Reset()
	require.NoError(t, run(context.Background(), cfg, &out, &bytes.Buffer{}))
	assert.Contains(t, out.String(), "indexed 8 images")
}

func TestRunErrors(t *testing.T) {
	t.Parallel()
	dir := writeFolder(t, 2)
	base := config{data: dir, class: "square", bucket: 2, k: 2, seed: 1, agg: "max"}
	for name, mod := range map[string]func(*config){
		"unknown class":       func(c *config) { c.class = "circle" },
		"unknown aggregation": func(c *config) { c.agg = "median" },
		"missing data":        func(c *config) { c.data = filepath.Join(dir, "nope") },
		"empty bucket":        func(c *config) { c.bucket = 0 },
	} {
		cfg := base
		mod(&cfg)
		err := run(context.Background(), cfg, &bytes.Buffer{}, &bytes.Buffer{})
		assert.Error(t, err, name)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	assert.ErrorIs(t, run(ctx, base, &bytes.Buffer{}, &bytes.Buffer{}), context.Canceled)
}
