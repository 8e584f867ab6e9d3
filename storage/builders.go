package storage

import (
	"fmt"
	"path/filepath"

	"github.com/syndtr/goleveldb/leveldb"
	"github.com/syndtr/goleveldb/leveldb/opt"
)

// DefaultBuilder returns a Builder that keeps each partition in a LevelDB
// database at path/<topic>.<partition>, the layout goka uses, so that an
// existing goka cache directory can be reused.
func DefaultBuilder(path string) Builder {
	return BuilderWithOptions(path, nil)
}

// BuilderWithOptions is DefaultBuilder with goleveldb options; nil options
// are goleveldb's defaults.
func BuilderWithOptions(path string, opts *opt.Options) Builder {
	return func(topic string, partition int32) (Storage, error) {
		dir := filepath.Join(path, fmt.Sprintf("%s.%d", topic, partition))
		db, err := leveldb.OpenFile(dir, opts)
		if err != nil {
			return nil, fmt.Errorf("storage: open leveldb at %s: %w", dir, err)
		}
		return New(db)
	}
}

// MemoryBuilder returns a Builder that gives every partition its own, empty
// memory storage.
func MemoryBuilder() Builder {
	return func(string, int32) (Storage, error) {
		return NewMemory(), nil
	}
}
