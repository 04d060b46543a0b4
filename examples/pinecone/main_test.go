package main

import (
	"bytes"
	"os"
	"regexp"
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

func clearEnv(t *testing.T) {
	for _, k := range []string{"PINECONE_API_KEY", "PINECONE_CONTROLLER_HOST", "PINECONE_ADDITIONAL_HEADERS"} {
		t.Setenv(k, "")
		require.NoError(t, os.Unsetenv(k))
	}
}

var resultRow = regexp.MustCompile(`(?m)^\d+\s+\S+\s+(\S+)\s+-?\d+\.\d{3}$`)

func TestRunFake(t *testing.T) {
	clearEnv(t)
	var out bytes.Buffer
	cfg := config{fake: true, data: writeFolder(t, 20), index: "quickstart", class: "square", bucketSize: 3, k: 10, cloud: "aws", region: "us-east-1"}
	require.NoError(t, run(t.Context(), cfg, "", &out))
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
		t.Skip("the shipped sample takes ~50 s under -race; TestRunFake covers the flow")
	}
	clearEnv(t)
	var out bytes.Buffer
	cfg := config{fake: true, index: "quickstart", class: "Sneaker", bucketSize: 5, k: 10, limit: 200, cloud: "aws", region: "us-east-1"}
	require.NoError(t, run(t.Context(), cfg, "", &out))
	assert.Contains(t, out.String(), "Indexed 200 images")
	assert.Len(t, resultRow.FindAllString(out.String(), -1), 10)
}

func TestRunNeedsKey(t *testing.T) {
	err := run(t.Context(), config{index: "x", class: "Sneaker", k: 1, bucketSize: 1}, "", &bytes.Buffer{})
	assert.ErrorContains(t, err, "PINECONE_API_KEY")
}
