//go:build !windows && !linux

package main_test

import (
	"os"
	"runtime"
	"syscall"
)

// watchRSS returns a func that, called once the process has exited,
// gives its peak resident set in bytes: here the rusage's Maxrss.
func watchRSS(int) func(*os.ProcessState) (int64, bool) {
	return func(ps *os.ProcessState) (int64, bool) {
		ru, ok := ps.SysUsage().(*syscall.Rusage)
		if !ok {
			return 0, false
		}
		if runtime.GOOS == "darwin" {
			return int64(ru.Maxrss), true // bytes on macOS
		}
		return int64(ru.Maxrss) * 1024, true // KiB elsewhere
	}
}
