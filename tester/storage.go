package tester

import (
	"github.com/seed-b2c684ed/goka/storage"
)

// sharedStorage is the one memory storage of a topic that every reader of
// the topic uses. Close and Open do nothing, since several clients share it;
// offset changes wake the tester's waits, which compare them with the topic's
// end to know a reader caught up.
type sharedStorage struct {
	storage.Storage
	tt *Tester
}

var _ storage.BatchWriter = (*sharedStorage)(nil)

func (s *sharedStorage) Open() error  { return nil }
func (s *sharedStorage) Close() error { return nil }

func (s *sharedStorage) SetOffset(offset int64) error {
	defer s.tt.broker.notify()
	return s.Storage.SetOffset(offset)
}

func (s *sharedStorage) WriteBatch(b *storage.Batch) error {
	defer s.tt.broker.notify()
	return storage.WriteBatch(s.Storage, b)
}
