//go:build !windows

package main_test

import (
	"os"
	"runtime"
	"syscall"
)

// peakRSS is the peak resident set of an exited process, in bytes.
func peakRSS(ps *os.ProcessState) (int64, bool) {
	ru, ok := ps.SysUsage().(*syscall.Rusage)
	if !ok {
		return 0, false
	}
	if runtime.GOOS == "darwin" {
		return int64(ru.Maxrss), true // bytes on macOS
	}
	return int64(ru.Maxrss) * 1024, true // KiB on Linux
}
