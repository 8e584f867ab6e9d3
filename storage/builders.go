package storage

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"

	"github.com/syndtr/goleveldb/leveldb"
	"github.com/syndtr/goleveldb/leveldb/opt"
)

// dirMode is the mode of the directories the builders create: a table holds
// the program's data, which other users of the machine have no business
// reading. goleveldb creates its files 0644; inside a 0700 directory nobody
// else can reach them.
const dirMode = 0o700

// DefaultBuilder returns a Builder that keeps each partition in a LevelDB
// database at path/<topic>.<partition>, the layout goka uses, so that an
// existing goka cache directory can be reused. The topic is escaped with
// EscapeName first, which leaves every name Kafka accepts as it is. The
// directories it creates, path included, have mode 0700; existing ones keep
// theirs.
func DefaultBuilder(path string) Builder {
	return BuilderWithOptions(path, nil)
}

// BuilderWithOptions is DefaultBuilder with goleveldb options; nil options
// are goleveldb's defaults. While a large restore loads a store, the store
// runs with level-0 compaction deferred instead, and gets opts back when the
// restore is done (MarkRecovered).
func BuilderWithOptions(path string, opts *opt.Options) Builder {
	return func(topic string, partition int32) (Storage, error) {
		dir := filepath.Join(path, EscapeName(topic)+"."+strconv.Itoa(int(partition)))
		// Created here rather than by goleveldb, which would make them 0755.
		if err := os.MkdirAll(path, dirMode); err != nil {
			return nil, fmt.Errorf("storage: open leveldb at %s: %w", dir, err)
		}
		if err := os.Mkdir(dir, dirMode); err != nil && !errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("storage: open leveldb at %s: %w", dir, err)
		}
		db, err := leveldb.OpenFile(dir, opts)
		if err != nil {
			return nil, fmt.Errorf("storage: open leveldb at %s: %w", dir, err)
		}
		s, err := newLevelDB(db)
		if err != nil {
			return nil, err
		}
		s.bulk = newBulkLoad(dir, func(o *opt.Options) (*leveldb.DB, error) {
			return leveldb.OpenFile(dir, o)
		}, opts)
		return s, nil
	}
}

// EscapeName turns a group or topic name into a single path element that
// stays where it is joined: letters, digits, '.', '_' and '-' (every
// character Kafka allows in a topic name) are kept, so ordinary names and
// the directories named after them are unchanged; every other byte, '%'
// included, becomes %XX (upper-case hex), and so do the dots of "." and "..".
// The result never holds a path separator or NUL, is never "." or "..", and
// is distinct for distinct names: unescaping %XX gives the name back. The
// empty name stays empty.
//
// A case-insensitive file system still folds "Clicks" and "clicks" together.
func EscapeName(name string) string {
	if name == "." || name == ".." {
		return escapeAll(name)
	}
	safe := true
	for i := 0; i < len(name); i++ {
		if !keep(name[i]) {
			safe = false
			break
		}
	}
	if safe {
		return name
	}
	out := make([]byte, 0, len(name)+8)
	for i := 0; i < len(name); i++ {
		if c := name[i]; keep(c) {
			out = append(out, c)
		} else {
			out = appendEscaped(out, c)
		}
	}
	return string(out)
}

func keep(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-'
}

func escapeAll(name string) string {
	out := make([]byte, 0, 3*len(name))
	for i := 0; i < len(name); i++ {
		out = appendEscaped(out, name[i])
	}
	return string(out)
}

func appendEscaped(out []byte, c byte) []byte {
	const hex = "0123456789ABCDEF"
	return append(out, '%', hex[c>>4], hex[c&0xf])
}

// MemoryBuilder returns a Builder that gives every partition its own, empty
// memory storage.
func MemoryBuilder() Builder {
	return func(string, int32) (Storage, error) {
		return NewMemory(), nil
	}
}
