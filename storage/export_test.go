package storage

import (
	"github.com/syndtr/goleveldb/leveldb"
	"github.com/syndtr/goleveldb/leveldb/opt"
)

// SetMigrationLimit lowers the bytes a migration re-encodes before it gives
// up for a rebuild, so that tests need not write 64 MiB; it returns the
// function that restores the limit.
func SetMigrationLimit(n int) (restore func()) {
	prev := migrationLimit
	migrationLimit = n
	return func() { migrationLimit = prev }
}

// BulkLoading reports whether st, a LevelDB storage, is open with the
// bulk-load options.
func BulkLoading(st Storage) bool {
	s := st.(*levelDB)
	if s.bulk == nil {
		return false
	}
	s.bulk.mu.Lock()
	defer s.bulk.mu.Unlock()
	return s.bulk.active
}

// Reopens returns how often st, a LevelDB storage, reopened its database to
// switch options.
func Reopens(st Storage) int {
	s := st.(*levelDB)
	if s.bulk == nil {
		return 0
	}
	s.bulk.mu.Lock()
	defer s.bulk.mu.Unlock()
	return s.bulk.reopens
}

// SetBulkThreshold sets the bytes a restore writes before it switches to the
// bulk-load options, whatever the write buffer; it returns the function that
// restores the rule.
func SetBulkThreshold(n int64) (restore func()) {
	prev := bulkThresholdOverride
	bulkThresholdOverride = n
	return func() { bulkThresholdOverride = prev }
}

// FailReopen makes every later switch of options of st, a LevelDB storage
// a builder opened, fail to open the database with err.
func FailReopen(st Storage, err error) {
	s := st.(*levelDB)
	s.bulk.mu.Lock()
	defer s.bulk.mu.Unlock()
	s.bulk.open = func(*opt.Options) (*leveldb.DB, error) { return nil, err }
}
