package main

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFakeRunResumesAsUnchanged(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"-fake", "-n", "2000", "-store", dir, "-quiet"}, &out))
	assert.Contains(t, out.String(), "read 2000 (resumed past 0), written 2000 (encoded 2000)")
	out.Reset()
	require.NoError(t, run(context.Background(), []string{"-fake", "-n", "2000", "-store", dir, "-quiet"}, &out))
	assert.Contains(t, out.String(), "written 0 (encoded 0), unchanged 2000")
}

func TestNeedsASource(t *testing.T) {
	require.ErrorContains(t, run(context.Background(), nil, &bytes.Buffer{}), "give -fake")
}

func TestFakeMigrate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	var out bytes.Buffer
	args := []string{"-fake", "-n", "300", "-store", dir, "-quiet", "-alias", "pool"}
	require.NoError(t, run(context.Background(), args, &out))
	assert.Contains(t, out.String(), "300 records for 300 source IDs (encoded 300, unchanged 0), switched true, deleted 0")
	out.Reset()
	require.NoError(t, run(context.Background(), append(args, "-dim", "128", "-delete-old"), &out))
	assert.Contains(t, out.String(), "300 records for 300 source IDs (encoded 300, unchanged 0), switched true, deleted 300")
}
