package tester

import (
	"github.com/seed-b2c684ed/goka/storage"
)

// tableStorage is one client's memory storage of a table. It outlives the
// client's Run, so Close and Open do nothing and TableValue can still read it;
// offset changes wake the tester's waits, which compare them with the topic's
// end to know the client caught up.
type tableStorage struct {
	storage.Storage
	tt *Tester
}

var _ storage.BatchWriter = (*tableStorage)(nil)

func (s *tableStorage) Open() error  { return nil }
func (s *tableStorage) Close() error { return nil }

func (s *tableStorage) SetOffset(offset int64) error {
	defer s.tt.broker.notify()
	return s.Storage.SetOffset(offset)
}

func (s *tableStorage) WriteBatch(b *storage.Batch) error {
	defer s.tt.broker.notify()
	return storage.WriteBatch(s.Storage, b)
}
