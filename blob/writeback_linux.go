package blob

import "golang.org/x/sys/unix"

// startWriteback asks the kernel to begin writing a range of f to disk
// now, without waiting. Evidence is streamed and fsynced at the end; left
// alone, the kernel would hold a large blob in memory and write all of it
// during that final fsync, after the hashing and scanning are done. Started
// early, the disk works while the processor does.
func startWriteback(f File, off, n int64) {
	if fd, ok := f.(interface{ Fd() uintptr }); ok {
		unix.SyncFileRange(int(fd.Fd()), off, n, unix.SYNC_FILE_RANGE_WRITE)
	}
}
