package finetune_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shoalhq/shoal/embedding"
	"github.com/shoalhq/shoal/finetune"
)

// trainedModel trains a small model on the synthetic task.
func trainedModel(t testing.TB, opts ...finetune.Option) (*tableEncoder, *finetune.LocalModel, []finetune.Example) {
	t.Helper()
	enc, train, val, test := task(30)
	trainer, err := finetune.NewTrainer(enc, fastOptions(append([]finetune.Option{finetune.WithEpochs(3)}, opts...)...)...)
	require.NoError(t, err)
	model, err := trainer.TrainLocal(context.Background(), train, val)
	require.NoError(t, err)
	return enc, model, test
}

func inputsOf(examples []finetune.Example) []embedding.Input {
	in := make([]embedding.Input, len(examples))
	for i, ex := range examples {
		in[i] = ex.Input
	}
	return in
}

func TestSaveLoadRoundTrip(t *testing.T) {
	t.Parallel()
	cases := map[string][]finetune.Option{
		"MLP":        nil,
		"linear":     {finetune.WithHidden()},
		"GELU, PCA":  {finetune.WithActivation(finetune.GELU), finetune.WithInputPCA(10, true), finetune.WithHidden(16, 12)},
		"proxy loss": {finetune.WithLoss(finetune.Proxy)},
	}
	for name, opts := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			enc, model, test := trainedModel(t, opts...)
			var buf bytes.Buffer
			require.NoError(t, model.Save(&buf))
			loaded, err := finetune.Load(bytes.NewReader(buf.Bytes()), enc)
			require.NoError(t, err)

			assert.Equal(t, model.Info(), loaded.Info())
			assert.Equal(t, model.BaseInfo(), loaded.BaseInfo())
			assert.Equal(t, model.Report(), loaded.Report())
			in := inputsOf(test)
			want, err := model.Encode(context.Background(), in)
			require.NoError(t, err)
			got, err := loaded.Encode(context.Background(), in)
			require.NoError(t, err)
			assert.Equal(t, want, got, "the loaded model gives the same vectors, bit for bit")

			// Saving the loaded model gives the same file.
			var again bytes.Buffer
			require.NoError(t, loaded.Save(&again))
			assert.Equal(t, buf.Bytes(), again.Bytes())
		})
	}
}

func TestSaveFileLoadFile(t *testing.T) {
	t.Parallel()
	enc, model, _ := trainedModel(t)
	path := filepath.Join(t.TempDir(), "adapter.shoalft")
	require.NoError(t, model.SaveFile(path))
	require.NoError(t, model.SaveFile(path), "overwrites")
	loaded, err := finetune.LoadFile(path, enc)
	require.NoError(t, err)
	assert.Equal(t, model.Info(), loaded.Info())
	entries, err := os.ReadDir(filepath.Dir(path))
	require.NoError(t, err)
	assert.Len(t, entries, 1, "no temporary file left behind")

	_, err = finetune.LoadFile(filepath.Join(t.TempDir(), "missing"), enc)
	assert.ErrorIs(t, err, os.ErrNotExist)
}

func TestLoadWrongBase(t *testing.T) {
	t.Parallel()
	enc, model, _ := trainedModel(t)
	var buf bytes.Buffer
	require.NoError(t, model.Save(&buf))
	cases := map[string]*tableEncoder{
		"other model":     {model: "table/v2", dim: enc.dim, vecs: enc.vecs},
		"other dimension": {model: enc.model, dim: 32, vecs: enc.vecs},
	}
	for name, base := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := finetune.Load(bytes.NewReader(buf.Bytes()), base)
			require.ErrorIs(t, err, finetune.ErrBaseMismatch)
			assert.ErrorContains(t, err, `trained over "table/v1" (dimension 16)`)
		})
	}
	_, err := finetune.Load(bytes.NewReader(buf.Bytes()), nil)
	assert.ErrorIs(t, err, finetune.ErrInvalidOption)
}

// fixChecksum recomputes a model file's trailing CRC-32C, so that a test (or
// the fuzzer) reaches the checks behind it.
func fixChecksum(data []byte) []byte {
	if len(data) < 4 {
		return data
	}
	out := append([]byte(nil), data...)
	body := out[:len(out)-4]
	binary.LittleEndian.PutUint32(out[len(out)-4:], crc32.Checksum(body, crc32.MakeTable(crc32.Castagnoli)))
	return out
}

func TestLoadCorrupt(t *testing.T) {
	t.Parallel()
	enc, model, _ := trainedModel(t, finetune.WithInputPCA(8, false))
	var buf bytes.Buffer
	require.NoError(t, model.Save(&buf))
	good := buf.Bytes()
	hlen := int(binary.LittleEndian.Uint32(good[12:]))
	edit := func(f func(b []byte) []byte) []byte { return f(append([]byte(nil), good...)) }
	cases := map[string]struct {
		data []byte
		want string
	}{
		"empty":          {nil, "too short"},
		"truncated":      {good[:len(good)/2], "checksum mismatch"},
		"one byte short": {good[:len(good)-1], "checksum mismatch"},
		"flipped weight": {edit(func(b []byte) []byte { b[len(b)-20] ^= 1; return b }), "checksum mismatch"},
		"bad magic":      {edit(func(b []byte) []byte { b[0] = 'X'; return b }), "bad magic"},
		"future version": {fixChecksum(edit(func(b []byte) []byte { b[8] = 9; return b })), "unsupported format version 9"},
		"header length":  {fixChecksum(edit(func(b []byte) []byte { b[15] = 0x7f; return b })), "header length"},
		"bad header": {fixChecksum(edit(func(b []byte) []byte {
			b[16] = '['
			return b
		})), "header"},
		"weights missing": {fixChecksum(append(append([]byte(nil), good[:16+hlen]...), 0, 0, 0, 0)), "bytes of weights"},
		"NaN weight": {fixChecksum(edit(func(b []byte) []byte {
			binary.LittleEndian.PutUint32(b[len(b)-8:], 0x7fc00000)
			return b
		})), "NaN or infinite"},
		"extra weights": {fixChecksum(append(append([]byte(nil), good[:len(good)-4]...), 0, 0, 0, 0, 1, 2, 3, 4)), "bytes of weights"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := finetune.Load(bytes.NewReader(c.data), enc)
			require.ErrorIs(t, err, finetune.ErrCorruptModel)
			assert.ErrorContains(t, err, c.want)
		})
	}
}

// goldenModel is a model file written by the first version of the format
// (a linear adapter over a 16-dimensional "table/v1" base, with an input
// projection). Files already written must stay readable.
const goldenModel = "testdata/adapter-v1.shoalft"

func TestLoadGoldenFile(t *testing.T) {
	t.Parallel()
	enc, _, _, _ := task(30)
	m, err := finetune.LoadFile(goldenModel, enc)
	require.NoError(t, err)
	assert.Regexp(t, `^table/v1 \+ shoal-finetune/v1 head=[0-9a-f]{16} dim=8$`, m.Info().Model)
	rep := m.Report()
	assert.Equal(t, 6, rep.Config.InputPCA)
	assert.Empty(t, rep.Config.Hidden)
	out, err := m.Project([][]float32{make([]float32, 16)})
	require.NoError(t, err)
	assert.Len(t, out[0], 8)
}

// TestWriteGoldenFile regenerates the golden file when run with
// SHOAL_WRITE_GOLDEN=1 (only when the format version changes).
func TestWriteGoldenFile(t *testing.T) {
	if os.Getenv("SHOAL_WRITE_GOLDEN") == "" {
		t.Skip("set SHOAL_WRITE_GOLDEN=1 to rewrite " + goldenModel)
	}
	_, model, _ := trainedModel(t, finetune.WithHidden(), finetune.WithInputPCA(6, true))
	require.NoError(t, model.SaveFile(goldenModel))
}

func FuzzLoad(f *testing.F) {
	enc, model, _ := trainedModel(f, finetune.WithInputPCA(6, true), finetune.WithHidden(5))
	var buf bytes.Buffer
	require.NoError(f, model.Save(&buf))
	f.Add(buf.Bytes())
	if golden, err := os.ReadFile(goldenModel); err == nil {
		f.Add(golden)
	}
	f.Add([]byte("SHOALFT\x00\x01\x00\x00\x00\x02\x00\x00\x00{}"))
	probe := [][]float32{make([]float32, 16)}
	probe[0][3] = 1
	f.Fuzz(func(t *testing.T, data []byte) {
		// As is, and with a valid checksum so that the parser behind it
		// is explored too.
		for _, d := range [][]byte{data, fixChecksum(data)} {
			m, err := finetune.Load(bytes.NewReader(d), enc)
			if err != nil {
				if !errors.Is(err, finetune.ErrCorruptModel) && !errors.Is(err, finetune.ErrBaseMismatch) {
					t.Fatalf("error wraps neither ErrCorruptModel nor ErrBaseMismatch: %v", err)
				}
				continue
			}
			out, err := m.Project(probe)
			if err != nil {
				t.Fatalf("a loaded model cannot project: %v", err)
			}
			if len(out[0]) != m.Info().Dim {
				t.Fatalf("projected to %d dimensions, Info says %d", len(out[0]), m.Info().Dim)
			}
		}
	})
}
