//go:build !unix

package memory

import (
	"fmt"
	"os"
	"path/filepath"
)

// lockDir creates dir's lock file. Without flock on this platform it does not
// stop a second process from opening the directory.
func lockDir(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, lockName), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("memory: lock %s: %w", dir, err)
	}
	return f, nil
}

func unlockDir(f *os.File) error { return f.Close() }
