package finetune

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"os"

	"github.com/shoalhq/shoal/embedding"
)

// A model file holds one adapter:
//
//	magic "SHOALFT\x00" | version uint32 (1) | header length uint32 | header (JSON)
//	| tensors (float32) | CRC-32C (Castagnoli) of all the preceding bytes
//
// all little-endian. The header records the base encoder's identity (model
// name and dimension), the adapter's shape and the training report. The
// tensors follow in a fixed order: the input projection's mean and matrix
// (when the adapter has one), then each layer's weights (out × in,
// row-major) and biases.

const (
	fileMagic   = "SHOALFT\x00"
	fileVersion = 1
	// maxHeader bounds the JSON header.
	maxHeader = 16 << 20
	// MaxModelBytes is the largest model file [Load] reads.
	MaxModelBytes = 1 << 31
	// maxBaseDim bounds the base dimension recorded in a file.
	maxBaseDim = 1 << 16
)

type fileHeader struct {
	Base   fileBase `json:"base"`
	Head   fileHead `json:"head"`
	Report Report   `json:"report"`
}

type fileBase struct {
	Model         string `json:"model"`
	Dim           int    `json:"dim"`
	Normalized    bool   `json:"normalized"`
	MaxBatch      int    `json:"max_batch,omitempty"`
	MaxBatchBytes int    `json:"max_batch_bytes,omitempty"`
}

type fileHead struct {
	InputDim   int        `json:"input_dim"`
	PCADim     int        `json:"pca_dim"`
	Activation Activation `json:"activation"`
	// Layers lists each layer's [in, out].
	Layers [][2]int `json:"layers"`
}

// Save writes the model (the adapter's weights, the base encoder's identity
// and the training report) to w. Load it with [Load] over the same base
// encoder.
func (m *LocalModel) Save(w io.Writer) error {
	h := m.head
	hdr := fileHeader{
		Base: fileBase{Model: m.baseInfo.Model, Dim: m.baseInfo.Dim, Normalized: m.baseInfo.Normalized,
			MaxBatch: m.baseInfo.MaxBatch, MaxBatchBytes: m.baseInfo.MaxBatchBytes},
		Head:   fileHead{InputDim: h.inDim, PCADim: h.pcaDim, Activation: h.act},
		Report: m.Report(),
	}
	for _, l := range h.layers {
		hdr.Head.Layers = append(hdr.Head.Layers, [2]int{l.in, l.out})
	}
	js, err := json.Marshal(hdr)
	if err != nil {
		return fmt.Errorf("finetune: save: %w", err)
	}
	var buf bytes.Buffer
	buf.WriteString(fileMagic)
	le := binary.LittleEndian
	buf.Write(le.AppendUint32(nil, fileVersion))
	buf.Write(le.AppendUint32(nil, uint32(len(js))))
	buf.Write(js)
	var b [4]byte
	floats := func(x []float32) {
		for _, f := range x {
			le.PutUint32(b[:], math.Float32bits(f))
			buf.Write(b[:])
		}
	}
	if h.proj != nil {
		floats(h.mean)
		floats(h.proj)
	}
	for _, l := range h.layers {
		floats(l.w)
		floats(l.b)
	}
	buf.Write(le.AppendUint32(nil, crc32.Checksum(buf.Bytes(), castagnoli)))
	_, err = w.Write(buf.Bytes())
	return err
}

// SaveFile writes the model to the file at path, atomically: a temporary
// file in the same directory, synced, then renamed over path.
func (m *LocalModel) SaveFile(path string) error {
	var buf bytes.Buffer
	if err := m.Save(&buf); err != nil {
		return err
	}
	return writeFileAtomic(path, buf.Bytes())
}

// Load reads a model written by [LocalModel.Save] and binds it to base,
// which must be the encoder it was trained over: the same Info().Model and
// Info().Dim, or the error wraps [ErrBaseMismatch]. A truncated, corrupt
// or unsupported file gives an error wrapping [ErrCorruptModel].
func Load(r io.Reader, base embedding.Encoder) (*LocalModel, error) {
	if base == nil {
		return nil, fmt.Errorf("%w: nil base encoder", ErrInvalidOption)
	}
	data, err := io.ReadAll(io.LimitReader(r, MaxModelBytes+1))
	if err != nil {
		return nil, fmt.Errorf("finetune: load: %w", err)
	}
	if len(data) > MaxModelBytes {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrCorruptModel, MaxModelBytes)
	}
	hdr, h, err := decodeModel(data)
	if err != nil {
		return nil, err
	}
	info := base.Info()
	if info.Model != hdr.Base.Model || info.Dim != hdr.Base.Dim {
		return nil, fmt.Errorf("%w: the model was trained over %q (dimension %d), the base encoder given is %q (dimension %d)",
			ErrBaseMismatch, hdr.Base.Model, hdr.Base.Dim, info.Model, info.Dim)
	}
	return newLocalModel(base, info, h, hdr.Report), nil
}

// LoadFile reads the model file at path; see [Load].
func LoadFile(path string, base embedding.Encoder) (*LocalModel, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("finetune: load: %w", err)
	}
	defer f.Close()
	m, err := Load(f, base)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// decodeModel parses and checks a model file.
func decodeModel(data []byte) (fileHeader, *head, error) {
	var hdr fileHeader
	corrupt := func(format string, args ...any) (fileHeader, *head, error) {
		return hdr, nil, fmt.Errorf("%w: "+format, append([]any{ErrCorruptModel}, args...)...)
	}
	const prefix = len(fileMagic) + 8
	if len(data) < prefix+4 {
		return corrupt("%d bytes is too short for a model file", len(data))
	}
	if string(data[:len(fileMagic)]) != fileMagic {
		return corrupt("not a Shoal fine-tuned model (bad magic)")
	}
	le := binary.LittleEndian
	if v := le.Uint32(data[8:]); v != fileVersion {
		return corrupt("unsupported format version %d (this build reads %d)", v, fileVersion)
	}
	body, sum := data[:len(data)-4], le.Uint32(data[len(data)-4:])
	if got := crc32.Checksum(body, castagnoli); got != sum {
		return corrupt("checksum mismatch (file %08x, content %08x): truncated or damaged", sum, got)
	}
	hlen := int64(le.Uint32(data[12:]))
	if hlen > maxHeader || hlen > int64(len(body)-prefix) {
		return corrupt("header length %d exceeds the file", hlen)
	}
	dec := json.NewDecoder(bytes.NewReader(body[prefix : prefix+int(hlen)]))
	if err := dec.Decode(&hdr); err != nil {
		return corrupt("header: %v", err)
	}
	if dec.More() {
		return corrupt("header: trailing data")
	}
	fh := hdr.Head
	switch {
	case hdr.Base.Dim < 1 || hdr.Base.Dim > maxBaseDim:
		return corrupt("base dimension %d out of range", hdr.Base.Dim)
	case fh.InputDim != hdr.Base.Dim:
		return corrupt("adapter input dimension %d differs from the base dimension %d", fh.InputDim, hdr.Base.Dim)
	case fh.PCADim < 0 || fh.PCADim > fh.InputDim:
		return corrupt("input projection of %d components out of range", fh.PCADim)
	case len(fh.Layers) < 1 || len(fh.Layers) > MaxLayers+1:
		return corrupt("%d layers out of range", len(fh.Layers))
	case fh.Activation != ReLU && fh.Activation != GELU:
		return corrupt("unknown activation %d", int(fh.Activation))
	}
	h := &head{inDim: fh.InputDim, pcaDim: fh.PCADim, act: fh.Activation}
	want := int64(0)
	if fh.PCADim > 0 {
		want += int64(fh.InputDim) + int64(fh.PCADim)*int64(fh.InputDim)
	}
	in := fh.InputDim
	if fh.PCADim > 0 {
		in = fh.PCADim
	}
	for i, l := range fh.Layers {
		if l[0] != in || l[1] < 1 || l[1] > MaxWidth {
			return corrupt("layer %d of shape %d×%d does not follow from its input of %d", i, l[0], l[1], in)
		}
		want += int64(l[0])*int64(l[1]) + int64(l[1])
		in = l[1]
	}
	tensors := body[prefix+int(hlen):]
	if int64(len(tensors)) != 4*want {
		return corrupt("%d bytes of weights, the header describes %d", len(tensors), 4*want)
	}
	var bad error
	next := func(n int) []float32 {
		x := make([]float32, n)
		for i := range x {
			f := math.Float32frombits(le.Uint32(tensors))
			tensors = tensors[4:]
			if bad == nil && (math.IsNaN(float64(f)) || math.IsInf(float64(f), 0)) {
				bad = errors.New("a weight is NaN or infinite")
			}
			x[i] = f
		}
		return x
	}
	if fh.PCADim > 0 {
		h.mean = next(fh.InputDim)
		h.proj = next(fh.PCADim * fh.InputDim)
	}
	for _, l := range fh.Layers {
		h.layers = append(h.layers, dense{in: l[0], out: l[1], w: next(l[0] * l[1]), b: next(l[1])})
	}
	if bad != nil {
		return corrupt("%v", bad)
	}
	return hdr, h, nil
}
