package web

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sync"
)

// SessionStore keeps saved feedback sessions. The handler saves a session
// after every change (a new round, new marks) under a key it builds from
// the tenant and the session ID; keys are at most 120 bytes of [a-z0-9._-].
// Load returns an error wrapping fs.ErrNotExist for an unknown key.
// Implementations must be safe for concurrent use.
type SessionStore interface {
	Save(ctx context.Context, key string, data []byte) error
	Load(ctx context.Context, key string) ([]byte, error)
	Delete(ctx context.Context, key string) error
}

// NewMemorySessions returns a [SessionStore] in memory: sessions survive
// their eviction from the handler's cache but not the process.
func NewMemorySessions() SessionStore { return &memSessions{m: make(map[string][]byte)} }

type memSessions struct {
	mu sync.Mutex
	m  map[string][]byte
}

func (s *memSessions) Save(_ context.Context, key string, data []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[key] = append([]byte(nil), data...)
	return nil
}

func (s *memSessions) Load(_ context.Context, key string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.m[key]
	if !ok {
		return nil, fmt.Errorf("session %q: %w", key, fs.ErrNotExist)
	}
	return b, nil
}

func (s *memSessions) Delete(_ context.Context, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, key)
	return nil
}

// NewDirSessions returns a [SessionStore] that keeps each session as a JSON
// file in dir (created if missing), written atomically (a temporary file,
// then a rename), so a session survives restarts.
func NewDirSessions(dir string) (SessionStore, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, errorf(ErrInvalidOption, "NewDirSessions: %w", err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, errorf(ErrInvalidOption, "NewDirSessions: %w", err)
	}
	return &dirSessions{dir: dir, root: root}, nil
}

type dirSessions struct {
	dir  string
	root *os.Root
}

var keyPattern = regexp.MustCompile(`^[a-z0-9._-]{1,120}$`)

func checkKey(key string) error {
	if !keyPattern.MatchString(key) || key[0] == '.' {
		return fmt.Errorf("bad session key %q", key)
	}
	return nil
}

func (s *dirSessions) Save(_ context.Context, key string, data []byte) error {
	if err := checkKey(key); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(s.dir, ".tmp-*")
	if err != nil {
		return err
	}
	_, err = tmp.Write(data)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), filepath.Join(s.dir, key+".json"))
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
	return err
}

func (s *dirSessions) Load(_ context.Context, key string) ([]byte, error) {
	if err := checkKey(key); err != nil {
		return nil, fmt.Errorf("%w: %w", err, fs.ErrNotExist)
	}
	return s.root.ReadFile(key + ".json")
}

func (s *dirSessions) Delete(_ context.Context, key string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	err := s.root.Remove(key + ".json")
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

// newSessionID returns 128 random bits from crypto/rand as 32 hex digits.
func newSessionID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand documents a fatal error instead)
	return hex.EncodeToString(b[:])
}

var sessionIDPattern = regexp.MustCompile(`^[0-9a-f]{32}$`)

// sessionKey is the store key of a tenant's session: the ID after a hash
// of the tenant, so tenants never share keys whatever their names.
func sessionKey(tenant, id string) string {
	h := sha256.Sum256([]byte(tenant))
	return hex.EncodeToString(h[:8]) + "-" + id
}
