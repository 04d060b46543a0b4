package main

import (
	"context"
	_ "embed"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"time"

	"github.com/shoalhq/shoal/examples/internal/dataset"
	"github.com/shoalhq/shoal/index"
)

// peerPython is the interpreter of Debian's python3-sklearn.
const peerPython = "/usr/bin/python3"

//go:embed peer.py
var peerScript []byte

// peerTask is one session of the protocol, for the peer: the bucket and
// the items left out of the pool, as indexes into the pool's records.
type peerTask struct {
	Class   string `json:"class"`
	Seed    int    `json:"seed"`
	Bucket  []int  `json:"bucket"`
	Dropped []int  `json:"dropped"`
}

type peerSpec struct {
	N       int        `json:"n"`
	Dim     int        `json:"dim"`
	K       int        `json:"k"`
	Rounds  int        `json:"rounds"`
	Vectors string     `json:"vectors"`
	Labels  string     `json:"labels"`
	Classes []string   `json:"classes"`
	Tasks   []peerTask `json:"tasks"`
}

type peerOutcome struct {
	Class     string    `json:"class"`
	Precision []float64 `json:"precision"`
	Seconds   []float64 `json:"seconds"`
}

// runPeer runs scikit-learn's LogisticRegression(class_weight="balanced")
// on the same sessions (peer.py) and returns its results per class, or nil
// with a message when python3-sklearn is not installed.
func runPeer(ctx context.Context, cfg config, recs []index.Record, items []dataset.Item, classes []string, tasks []peerTask, out io.Writer) ([]classResult, error) {
	if err := exec.CommandContext(ctx, peerPython, "-c", "import sklearn").Run(); err != nil {
		fmt.Fprintf(out, "\nscikit-learn: skipped (%s cannot import sklearn: apt-get install python3-sklearn).\n", peerPython)
		return nil, nil
	}
	dir, err := os.MkdirTemp("", "feedbackbench-peer-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	spec := peerSpec{N: len(recs), Dim: len(recs[0].Vector), K: cfg.k, Rounds: cfg.rounds,
		Vectors: filepath.Join(dir, "vectors.f32"), Labels: filepath.Join(dir, "labels.i32"), Tasks: tasks}
	spec.Classes = slices.Clone(classes)
	label := make([]int32, len(items))
	for i, it := range items {
		label[i] = int32(slices.Index(spec.Classes, it.Label))
	}
	vec := make([]float32, 0, len(recs)*spec.Dim)
	for _, r := range recs {
		vec = append(vec, r.Vector...)
	}
	for path, data := range map[string]any{spec.Vectors: vec, spec.Labels: label} {
		f, err := os.Create(path)
		if err != nil {
			return nil, err
		}
		err = binary.Write(f, binary.LittleEndian, data)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, err
		}
	}
	specPath, scriptPath := filepath.Join(dir, "spec.json"), filepath.Join(dir, "peer.py")
	js, err := json.Marshal(spec)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(specPath, js, 0o600); err != nil {
		return nil, err
	}
	if err := os.WriteFile(scriptPath, peerScript, 0o600); err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, peerPython, scriptPath, specPath)
	cmd.Env = append(os.Environ(), "OMP_NUM_THREADS=2", "OPENBLAS_NUM_THREADS=2")
	cmd.Stderr = os.Stderr
	raw, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("scikit-learn peer: %w", err)
	}
	var got []peerOutcome
	if err := json.Unmarshal(raw, &got); err != nil {
		return nil, fmt.Errorf("scikit-learn peer output: %w", err)
	}
	var res []classResult
	for _, class := range classes {
		cr := classResult{class: class, precision: make([]float64, cfg.rounds+1)}
		n := 0
		for _, o := range got {
			if o.Class != class {
				continue
			}
			n++
			for r, p := range o.Precision {
				cr.precision[r] += p
			}
			for _, s := range o.Seconds {
				cr.elapsed += time.Duration(s * float64(time.Second))
				cr.rounds++
			}
		}
		for r := range cr.precision {
			cr.precision[r] /= math.Max(1, float64(n))
		}
		res = append(res, cr)
	}
	return res, nil
}
