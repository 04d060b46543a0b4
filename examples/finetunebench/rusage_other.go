//go:build !(linux || darwin || freebsd || netbsd || openbsd)

package main

import "time"

// resources is not available on this system.
func resources() (maxRSS int64, user, sys time.Duration, ok bool) { return 0, 0, 0, false }
