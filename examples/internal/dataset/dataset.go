// Package dataset holds the labeled image sets the examples run on: the
// Fashion-MNIST test split shipped in the repository, the full Fashion-MNIST
// in IDX files (Debian's dataset-fashion-mnist puts them under
// /usr/share/datasets/fashion-mnist), or a user's folder of images with a
// labels.csv. The files are read by the public loaders of
// github.com/shoalhq/shoal/embedding/dataset; this package only adds the
// sample, Fashion-MNIST's file names and class names, and the small helpers
// that keep the example programs short.
package dataset

import (
	"bytes"
	"embed"
	"fmt"
	"image/png"
	"os"
	"path/filepath"

	"github.com/shoalhq/shoal/embedding"
	loader "github.com/shoalhq/shoal/embedding/dataset"
)

// Item is one labeled image.
type Item struct {
	ID    string // unique within the set: "test-00042", or the path in a folder
	Label string // class name
	Split string // "train" or "test" for Fashion-MNIST, "" for a folder
	// Image is the encoded image (PNG for Fashion-MNIST, the file's bytes
	// for a folder), for programs that show it or send it to a remote
	// encoder.
	Image []byte
	// MIMEType describes Image.
	MIMEType string
}

// Input returns the item as an embedding input: its encoded Image, which
// every encoder reads (local and remote), and Metadata "label" (and
// "split" when set). Programs that only embed locally can skip the PNG
// round trip with FashionSampleInputs or LoadFashionInputs.
func (it Item) Input() embedding.Input {
	in := embedding.Input{ID: it.ID, Image: it.Image, MIMEType: it.MIMEType, Metadata: map[string]any{"label": it.Label}}
	if it.Split != "" {
		in.Metadata["split"] = it.Split
	}
	return in
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
	inputs, err := FashionSampleInputs()
	if err != nil {
		return nil, err
	}
	return items(inputs, "test")
}

// FashionSampleInputs returns the shipped test split as embedding inputs
// (IDs "test-00000" on, Decoded pixels, Metadata "label" and "split"),
// straight from the public IDX loader.
func FashionSampleInputs() ([]embedding.Input, error) {
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
	return loader.ReadIDX(imgs, labels, fashionOptions("test")...)
}

// fashionOptions are the loader options of a Fashion-MNIST split.
func fashionOptions(split string) []loader.Option {
	return []loader.Option{
		loader.WithClasses(FashionClasses...),
		loader.WithIDPrefix(split + "-"),
		loader.WithMetadata("split", split),
	}
}

// LoadFashion reads one split ("train" or "test") of Fashion-MNIST from the
// IDX files in dir (gzipped or not).
func LoadFashion(dir, split string) ([]Item, error) {
	inputs, err := LoadFashionInputs(dir, split)
	if err != nil {
		return nil, err
	}
	return items(inputs, split)
}

// LoadFashionInputs is LoadFashion as embedding inputs (Decoded pixels,
// Metadata "label" and "split"), with no PNG encoding.
func LoadFashionInputs(dir, split string) ([]embedding.Input, error) {
	prefix := map[string]string{"train": "train", "test": "t10k"}[split]
	if prefix == "" {
		return nil, fmt.Errorf("dataset: unknown split %q (want train or test)", split)
	}
	find := func(name string) string {
		p := filepath.Join(dir, name)
		if _, err := os.Stat(p + ".gz"); err == nil {
			return p + ".gz"
		}
		return p
	}
	imgs := find(prefix + "-images-idx3-ubyte")
	if _, err := os.Stat(imgs); err != nil {
		return nil, fmt.Errorf("dataset: %w (install Debian's dataset-fashion-mnist, or pass a folder with labels.csv)", err)
	}
	return loader.LoadIDX(imgs, find(prefix+"-labels-idx1-ubyte"), fashionOptions(split)...)
}

// items turns loaded inputs into items, encoding raw pixels as PNG for
// Item.Image.
func items(inputs []embedding.Input, split string) ([]Item, error) {
	out := make([]Item, len(inputs))
	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	for i, in := range inputs {
		label, _ := in.Metadata["label"].(string)
		it := Item{ID: in.ID, Label: label, Split: split, Image: in.Image, MIMEType: in.MIMEType}
		if in.Decoded != nil {
			buf.Reset()
			if err := enc.Encode(&buf, in.Decoded); err != nil {
				return nil, fmt.Errorf("dataset: item %q: %w", in.ID, err)
			}
			it.Image, it.MIMEType = bytes.Clone(buf.Bytes()), "image/png"
		}
		out[i] = it
	}
	return out, nil
}

// LoadFolder reads a folder of images described by dir/labels.csv, one
// "path,label" row per image (paths relative to dir; a header row
// "path,label" is allowed).
func LoadFolder(dir string) ([]Item, error) {
	inputs, err := loader.LoadFolder(dir)
	if err != nil {
		return nil, err
	}
	return items(inputs, "")
}

// Load reads dir: a folder with labels.csv, or Fashion-MNIST IDX files (the
// test split). An empty dir means the shipped sample.
func Load(dir string) ([]Item, error) {
	if dir == "" {
		return FashionSample()
	}
	if _, err := os.Stat(filepath.Join(dir, loader.LabelsFile)); err == nil {
		return LoadFolder(dir)
	}
	return LoadFashion(dir, "test")
}
