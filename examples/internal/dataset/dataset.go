// Package dataset loads the labeled image sets the examples run on: the
// Fashion-MNIST test split shipped in the repository, the full Fashion-MNIST
// in IDX files (Debian's dataset-fashion-mnist puts them under
// /usr/share/datasets/fashion-mnist), or a user's folder of images with a
// labels.csv. It keeps the example programs short.
package dataset

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"embed"
	"encoding/binary"
	"encoding/csv"
	"errors"
	"fmt"
	"image"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Item is one labeled image.
type Item struct {
	ID    string // unique within the set: "test-00042", or the path in a folder
	Label string // class name
	Split string // "train" or "test" for Fashion-MNIST, "" for a folder
	// Image is the encoded image (PNG for Fashion-MNIST, the file's bytes for
	// a folder), ready for embedding.Input.Image.
	Image []byte
	// MIMEType describes Image.
	MIMEType string
}

// FashionClasses are Fashion-MNIST's class names, by label number.
var FashionClasses = []string{
	"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
	"Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
}

// DebianFashionDir is where Debian's dataset-fashion-mnist installs the set.
const DebianFashionDir = "/usr/share/datasets/fashion-mnist"

//go:embed fashion/t10k-images-idx3-ubyte.gz fashion/t10k-labels-idx1-ubyte.gz
var sample embed.FS

// FashionSample returns the 10,000 images of Fashion-MNIST's test split that
// ship with Shoal (MIT licence, see fashion/LICENSE).
func FashionSample() ([]Item, error) {
	imgs, err := sample.Open("fashion/t10k-images-idx3-ubyte.gz")
	if err != nil {
		return nil, err
	}
	defer imgs.Close()
	labels, err := sample.Open("fashion/t10k-labels-idx1-ubyte.gz")
	if err != nil {
		return nil, err
	}
	defer labels.Close()
	return readIDX(imgs, labels, "test")
}

// LoadFashion reads one split ("train" or "test") of Fashion-MNIST from the
// IDX files in dir (gzipped or not).
func LoadFashion(dir, split string) ([]Item, error) {
	prefix := map[string]string{"train": "train", "test": "t10k"}[split]
	if prefix == "" {
		return nil, fmt.Errorf("dataset: unknown split %q (want train or test)", split)
	}
	open := func(name string) (io.ReadCloser, error) {
		p := filepath.Join(dir, name)
		if f, err := os.Open(p + ".gz"); err == nil {
			return f, nil
		}
		return os.Open(p)
	}
	imgs, err := open(prefix + "-images-idx3-ubyte")
	if err != nil {
		return nil, fmt.Errorf("dataset: %w (install Debian's dataset-fashion-mnist, or pass a folder with labels.csv)", err)
	}
	defer imgs.Close()
	labels, err := open(prefix + "-labels-idx1-ubyte")
	if err != nil {
		return nil, fmt.Errorf("dataset: %w", err)
	}
	defer labels.Close()
	return readIDX(imgs, labels, split)
}

// maybeGunzip returns a reader of r's content, gunzipped if it is gzip.
func maybeGunzip(r io.Reader) (io.Reader, error) {
	br := bufio.NewReader(r)
	head, err := br.Peek(2)
	if err != nil {
		return nil, err
	}
	if head[0] == 0x1f && head[1] == 0x8b {
		return gzip.NewReader(br)
	}
	return br, nil
}

// readIDX decodes an IDX image file (magic 0x803) and label file (magic
// 0x801), gzipped or not, into items encoded as PNG.
func readIDX(imgFile, labelFile io.Reader, split string) ([]Item, error) {
	ir, err := maybeGunzip(imgFile)
	if err != nil {
		return nil, fmt.Errorf("dataset: images: %w", err)
	}
	lr, err := maybeGunzip(labelFile)
	if err != nil {
		return nil, fmt.Errorf("dataset: labels: %w", err)
	}
	var ih [4]uint32
	if err := binary.Read(ir, binary.BigEndian, &ih); err != nil {
		return nil, fmt.Errorf("dataset: images header: %w", err)
	}
	var lh [2]uint32
	if err := binary.Read(lr, binary.BigEndian, &lh); err != nil {
		return nil, fmt.Errorf("dataset: labels header: %w", err)
	}
	if ih[0] != 0x803 || lh[0] != 0x801 {
		return nil, fmt.Errorf("dataset: not IDX files (magic %#x and %#x, want 0x803 and 0x801)", ih[0], lh[0])
	}
	n, rows, cols := int(ih[1]), int(ih[2]), int(ih[3])
	if int(lh[1]) != n || rows <= 0 || cols <= 0 || rows*cols > 1<<20 || n > 10_000_000 {
		return nil, fmt.Errorf("dataset: inconsistent IDX headers: %d images of %dx%d, %d labels", n, rows, cols, lh[1])
	}
	labels := make([]byte, n)
	if _, err := io.ReadFull(lr, labels); err != nil {
		return nil, fmt.Errorf("dataset: labels: %w", err)
	}
	items := make([]Item, n)
	pix := make([]byte, rows*cols)
	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	for i := range items {
		if _, err := io.ReadFull(ir, pix); err != nil {
			return nil, fmt.Errorf("dataset: image %d: %w", i, err)
		}
		if int(labels[i]) >= len(FashionClasses) {
			return nil, fmt.Errorf("dataset: image %d: label %d out of range", i, labels[i])
		}
		img := &image.Gray{Pix: pix, Stride: cols, Rect: image.Rect(0, 0, cols, rows)}
		buf.Reset()
		if err := enc.Encode(&buf, img); err != nil {
			return nil, err
		}
		items[i] = Item{
			ID:       fmt.Sprintf("%s-%05d", split, i),
			Label:    FashionClasses[labels[i]],
			Split:    split,
			Image:    bytes.Clone(buf.Bytes()),
			MIMEType: "image/png",
		}
	}
	return items, nil
}

// LoadFolder reads a folder of images described by dir/labels.csv, one
// "path,label" row per image (paths relative to dir; a header row
// "path,label" is allowed).
func LoadFolder(dir string) ([]Item, error) {
	f, err := os.Open(filepath.Join(dir, "labels.csv"))
	if err != nil {
		return nil, fmt.Errorf("dataset: %w", err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = 2
	r.TrimLeadingSpace = true
	var items []Item
	seen := map[string]int{}
	for line := 1; ; line++ {
		row, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("dataset: labels.csv: %w", err)
		}
		if line == 1 && strings.EqualFold(row[0], "path") && strings.EqualFold(row[1], "label") {
			continue
		}
		p, label := row[0], strings.TrimSpace(row[1])
		if p == "" || label == "" {
			return nil, fmt.Errorf("dataset: labels.csv line %d: empty path or label", line)
		}
		if prev, dup := seen[p]; dup {
			return nil, fmt.Errorf("dataset: labels.csv line %d: %q already listed on line %d", line, p, prev)
		}
		seen[p] = line
		data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(p)))
		if err != nil {
			return nil, fmt.Errorf("dataset: labels.csv line %d: %w", line, err)
		}
		items = append(items, Item{ID: p, Label: label, Image: data, MIMEType: mimeOf(p)})
	}
	if len(items) == 0 {
		return nil, fmt.Errorf("dataset: %s/labels.csv lists no images", dir)
	}
	return items, nil
}

func mimeOf(p string) string {
	switch strings.ToLower(filepath.Ext(p)) {
	case ".png":
		return "image/png"
	case ".jpg", ".jpeg":
		return "image/jpeg"
	case ".gif":
		return "image/gif"
	}
	return ""
}

// Load reads dir: a folder with labels.csv, or Fashion-MNIST IDX files (the
// test split). An empty dir means the shipped sample.
func Load(dir string) ([]Item, error) {
	if dir == "" {
		return FashionSample()
	}
	if _, err := os.Stat(filepath.Join(dir, "labels.csv")); err == nil {
		return LoadFolder(dir)
	}
	return LoadFashion(dir, "test")
}
