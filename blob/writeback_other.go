//go:build !linux

package blob

// startWriteback does nothing where the kernel offers no way to start
// writeback of a range; the final fsync writes everything.
func startWriteback(f File, off, n int64) {}
