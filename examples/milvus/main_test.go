package main

import (
	"bytes"
	"context"
	"regexp"
	"testing"
	"time"

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

var resultRow = regexp.MustCompile(`(?m)^\d+\s+\S+\s+(\S+)\s+-?\d+\.\d{3}$`)

func TestRunFake(t *testing.T) {
	var out bytes.Buffer
	cfg := config{fake: true, data: writeFolder(t, 20), collection: "quickstart", indexType: "HNSW", class: "square", bucketSize: 3, k: 10}
	require.NoError(t, run(t.Context(), cfg, credentials{}, &out))
	s := out.String()
	assert.Contains(t, s, "Indexed 40 images")
	rows := resultRow.FindAllStringSubmatch(s, -1)
	require.Len(t, rows, 10, "ten result rows in:\n%s", s)
	for _, r := range rows {
		assert.Equal(t, "square", r[1], "the shapes are separable:\n%s", s)
	}
	assert.Contains(t, s, `precision@10 = 1.00 for a bucket of 3 "square"`)
}

// The shipped Fashion-MNIST sample, as the command runs by default (slow
// under the race detector, so skipped there and with -short).
func TestRunFakeShippedSample(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("the shipped sample is slow under -race; TestRunFake covers the flow")
	}
	var out bytes.Buffer
	cfg := config{fake: true, collection: "quickstart", indexType: "AUTOINDEX", class: "Sneaker", bucketSize: 5, k: 10, limit: 200}
	require.NoError(t, run(t.Context(), cfg, credentials{}, &out))
	assert.Contains(t, out.String(), "Indexed 200 images")
	assert.Len(t, resultRow.FindAllString(out.String(), -1), 10)
}

// Without a server the command fails with a clear error (no hang).
func TestRunNoServer(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the connection attempt")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
	defer cancel()
	err := run(ctx, config{addr: "127.0.0.1:1", collection: "x", indexType: "AUTOINDEX", class: "square", k: 1, bucketSize: 1, data: writeFolder(t, 1)}, credentials{password: "hunter2"}, &bytes.Buffer{})
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "hunter2")
}
