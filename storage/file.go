package storage

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
)

// file appends every value written to it to a file and keeps nothing to read
// back, like Null otherwise. It is a debugging aid: it shows what a processor
// writes to its table without a Kafka consumer.
type file struct {
	Null

	mu   sync.Mutex
	f    *os.File
	line []byte // scratch for value + "\n", so that each Set is one write
}

// NewFile returns a storage that appends each value set, followed by a
// newline, to the file path/part-<part>. It creates the directory if needed
// and opens the file at once, so that a bad path fails here rather than on the
// first Set. Existing content is kept.
func NewFile(path string, part int32) (Storage, error) {
	if err := os.MkdirAll(path, 0o700); err != nil {
		return nil, fmt.Errorf("storage: new file storage: %w", err)
	}
	name := filepath.Join(path, "part-"+strconv.Itoa(int(part)))
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("storage: new file storage: %w", err)
	}
	return &file{f: f}, nil
}

// Set appends value and a newline to the file.
func (s *file) Set(_ string, value []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check("set"); err != nil {
		return err
	}
	s.line = append(append(s.line[:0], value...), '\n')
	if _, err := s.f.Write(s.line); err != nil {
		return fmt.Errorf("storage: set: %w", err)
	}
	return nil
}

// Close closes the file; calls after the first do nothing.
func (s *file) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed.Swap(true) {
		return nil
	}
	if err := s.f.Close(); err != nil {
		return fmt.Errorf("storage: close file: %w", err)
	}
	return nil
}
