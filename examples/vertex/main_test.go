package main

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// writeFolder writes n distinct PNGs in two classes, plus a labels.csv.
func writeFolder(t *testing.T, n int) string {
	t.Helper()
	dir := t.TempDir()
	var csv strings.Builder
	csv.WriteString("path,label\n")
	for i := range n {
		img := image.NewGray(image.Rect(0, 0, 8, 8))
		img.SetGray(i%8, i/8, color.Gray{Y: 255})
		var buf bytes.Buffer
		require.NoError(t, png.Encode(&buf, img))
		name := fmt.Sprintf("img-%02d.png", i)
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), buf.Bytes(), 0o644))
		fmt.Fprintf(&csv, "%s,%s\n", name, []string{"even", "odd"}[i%2])
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "labels.csv"), []byte(csv.String()), 0o644))
	return dir
}

func TestRunFake(t *testing.T) {
	t.Parallel()
	dir := writeFolder(t, 12)
	for _, endpoint := range []string{"", "42"} {
		var out, status bytes.Buffer
		cfg := config{data: dir, location: "us-central1", model: "multimodalembedding@001", endpoint: endpoint,
			dim: 128, k: 5, concurrency: 4, fake: true, query: "img-03.png"}
		require.NoError(t, run(context.Background(), cfg, &out, &status), endpoint)
		s := out.String()
		assert.Contains(t, s, "indexed 12 images", endpoint)
		assert.Contains(t, s, "nearest to img-03.png (odd):", endpoint)
		// The fake's vectors are hashes of the image bytes: the query itself
		// comes first with similarity 1.
		assert.Regexp(t, `  1\. img-03\.png\s+odd\s+1\.0000`, s, endpoint)
		assert.Equal(t, 5+4, strings.Count(s, "\n"), s)
		assert.Contains(t, status.String(), "embedded 12/12 images", endpoint)
	}
}

func TestRunNeedsProject(t *testing.T) {
	t.Parallel()
	err := run(context.Background(), config{data: writeFolder(t, 2), dim: 128, k: 1, concurrency: 1}, &bytes.Buffer{}, &bytes.Buffer{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "-project")
}
