//go:build !unix

package producer

import "time"

// processCPU returns 0 where getrusage is missing: no CPU figure is reported.
func processCPU() time.Duration { return 0 }
