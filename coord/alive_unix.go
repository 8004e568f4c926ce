//go:build unix

package coord

import (
	"errors"
	"syscall"
)

// processGone tells whether no process pid runs on this host.
func processGone(pid int) bool {
	return pid > 0 && errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}
