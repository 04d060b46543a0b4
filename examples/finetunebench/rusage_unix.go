//go:build linux || darwin || freebsd || netbsd || openbsd

package main

import (
	"runtime"
	"syscall"
	"time"
)

// resources returns the process's peak resident memory in bytes and its CPU
// time so far.
func resources() (maxRSS int64, user, sys time.Duration, ok bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, 0, 0, false
	}
	maxRSS = int64(ru.Maxrss)
	if runtime.GOOS != "darwin" { // kilobytes elsewhere
		maxRSS *= 1024
	}
	return maxRSS, time.Duration(ru.Utime.Nano()), time.Duration(ru.Stime.Nano()), true
}
