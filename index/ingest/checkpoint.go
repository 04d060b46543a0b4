package ingest

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/shoalhq/shoal/internal/errs"
)

// checkpoint is the file of [WithCheckpoint]: the items of the source
// before Position are settled (in the store, unchanged, duplicates or dead
// letters), the last of them with ID LastID.
type checkpoint struct {
	Version   int    `json:"version"`
	Namespace string `json:"namespace"`
	Model     string `json:"model"`
	Position  int    `json:"position"`
	LastID    string `json:"last_id"`

	written time.Time
	dirty   bool
}

func loadCheckpoint(path, ns, model string) (*checkpoint, error) {
	cp := &checkpoint{Version: 1, Namespace: ns, Model: model, written: time.Now()}
	if path == "" {
		return cp, nil
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return cp, nil
	}
	if err != nil {
		return nil, errs.Errorf("ingest", ErrCheckpoint, "%w", err)
	}
	var got checkpoint
	if err := json.Unmarshal(b, &got); err != nil || got.Version != 1 || got.Position < 0 {
		return nil, errs.Errorf("ingest", ErrCheckpoint, "%s: not a checkpoint file of version 1 (%v); delete it to start over", path, err)
	}
	if got.Namespace != ns || got.Model != model {
		return nil, errs.Errorf("ingest", ErrCheckpoint, "%s belongs to namespace %q and model %q, not %q and %q; delete it to start over",
			path, got.Namespace, got.Model, ns, model)
	}
	got.written = cp.written
	return &got, nil
}

func (c *checkpoint) advance(it *item) {
	c.Position = it.pos + 1
	c.LastID = it.in.ID
	c.dirty = true
}

// save writes the checkpoint atomically: a temporary file in the same
// directory, fsync, rename, fsync of the directory.
func (c *checkpoint) save(path string) error {
	c.written = time.Now()
	if !c.dirty {
		return nil
	}
	b, err := json.Marshal(c)
	if err != nil {
		return errs.Errorf("ingest", nil, "checkpoint: %w", err)
	}
	if err := writeFileAtomic(path, b); err != nil {
		return errs.Errorf("ingest", nil, "checkpoint %s: %w", path, err)
	}
	c.dirty = false
	return nil
}

// writeFileAtomic writes data to path atomically: a temporary file in the
// same directory, fsync, rename, fsync of the directory. On error path is
// as it was.
func writeFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

func removeCheckpoint(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return errs.Errorf("ingest", nil, "checkpoint: %w", err)
	}
	return nil
}
