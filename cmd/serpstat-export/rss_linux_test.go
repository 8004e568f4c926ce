package main_test

import (
	"bytes"
	"os"
	"strconv"
	"time"
)

// rssPoll is how often watchRSS reads the peak of a running process.
const rssPoll = 2 * time.Millisecond

// watchRSS reads the peak resident set of process pid (VmHWM in
// /proc/pid/status) until the returned func is called, once the process
// has exited, and that func gives the last peak read, in bytes. The
// rusage's Maxrss is no use here: Go starts a child with
// clone(CLONE_VM|CLONE_VFORK), and on exec Linux counts the memory the
// child shared, the whole parent's (this test process and its fake),
// into the child's Maxrss. VmHWM is the peak of the binary's own memory
// since its exec; what the last rssPoll before exit adds is missed.
func watchRSS(pid int) func(*os.ProcessState) (int64, bool) {
	path := "/proc/" + strconv.Itoa(pid) + "/status"
	stop, done := make(chan struct{}), make(chan int64)
	go func() {
		var peak int64
		t := time.NewTicker(rssPoll)
		defer t.Stop()
		for {
			if v, ok := readVmHWM(path); ok {
				peak = max(peak, v)
			}
			select {
			case <-stop:
				done <- peak
				return
			case <-t.C:
			}
		}
	}()
	return func(*os.ProcessState) (int64, bool) {
		close(stop)
		peak := <-done
		return peak, peak > 0
	}
}

// readVmHWM reads the VmHWM line of a /proc/PID/status file, in bytes.
func readVmHWM(path string) (int64, bool) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	_, rest, ok := bytes.Cut(data, []byte("\nVmHWM:"))
	if !ok {
		return 0, false // exited: a zombie has no memory
	}
	line, _, _ := bytes.Cut(rest, []byte("\n"))
	kb, err := strconv.ParseInt(string(bytes.TrimSuffix(bytes.TrimSpace(line), []byte(" kB"))), 10, 64)
	if err != nil {
		return 0, false
	}
	return kb << 10, true
}
