package memory

import (
	"io"
	"io/fs"
	"os"
)

// fileSystem is what a persistent store does to the files of its directory
// (the lock file aside). The store uses the operating system's; tests put a
// wrapper in between that fails a chosen operation, to check what a store
// leaves behind when the disk fills up or the process dies at any step.
type fileSystem interface {
	OpenFile(name string, flag int, perm fs.FileMode) (file, error)
	Rename(oldpath, newpath string) error
	Remove(name string) error
}

// file is the part of *os.File a store uses.
type file interface {
	io.Reader
	io.ReaderAt
	io.Writer
	io.WriterAt
	Name() string
	Stat() (fs.FileInfo, error)
	Sync() error
	Truncate(size int64) error
	Close() error
}

// osFS is the operating system's file system.
type osFS struct{}

func (osFS) OpenFile(name string, flag int, perm fs.FileMode) (file, error) {
	f, err := os.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err // not a non-nil interface holding a nil *os.File
	}
	return f, nil
}

func (osFS) Rename(oldpath, newpath string) error { return os.Rename(oldpath, newpath) }
func (osFS) Remove(name string) error             { return os.Remove(name) }
