package storage

// SetMigrationLimit lowers the bytes a migration re-encodes before it gives
// up for a rebuild, so that tests need not write 64 MiB; it returns the
// function that restores the limit.
func SetMigrationLimit(n int) (restore func()) {
	prev := migrationLimit
	migrationLimit = n
	return func() { migrationLimit = prev }
}
