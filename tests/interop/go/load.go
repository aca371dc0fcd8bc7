package main

import (
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// loadRun is what the measured phase of a load generator (bench, bench-xclient,
// http-bench) found: the latencies of the calls that succeeded, sorted, the
// failed calls and the first failure's text.
type loadRun struct {
	lat      []time.Duration
	errors   int64
	firstErr string
	elapsed  time.Duration
	// cpu is the process's CPU time (user + system, every thread) during the
	// measured phase.
	cpu time.Duration
}

// processCPU is the CPU time this process has used so far (user + system).
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// runLoad starts workers goroutines; worker g gets its call from newCall(g)
// and makes call(i) for call numbers i = 1..total, shared by all, until total
// is reached or maxSeconds have passed. call returns its own latency (what it
// times) or an error.
func runLoad(workers int, total int64, maxSeconds float64, newCall func(g int) func(i int64) (time.Duration, error)) loadRun {
	var next, errCount atomic.Int64
	var firstErr atomic.Value
	var stop atomic.Bool
	lat := make([][]time.Duration, workers)
	timer := time.AfterFunc(time.Duration(maxSeconds*float64(time.Second)), func() { stop.Store(true) })
	defer timer.Stop()
	cpu0 := processCPU()
	start := time.Now()
	var wg sync.WaitGroup
	for g := 0; g < workers; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			call := newCall(g)
			// Grown as needed: total is a bound, often far above what a run makes.
			mine := make([]time.Duration, 0, min(total/int64(workers)+1, 1<<16))
			for !stop.Load() {
				i := next.Add(1)
				if i > total {
					break
				}
				d, err := call(i)
				if err != nil {
					if errCount.Add(1) == 1 {
						firstErr.Store(err.Error())
					}
					continue
				}
				mine = append(mine, d)
			}
			lat[g] = mine
		}(g)
	}
	wg.Wait()
	r := loadRun{elapsed: time.Since(start), errors: errCount.Load(), cpu: processCPU() - cpu0}
	for _, l := range lat {
		r.lat = append(r.lat, l...)
	}
	slices.Sort(r.lat)
	if v, ok := firstErr.Load().(string); ok {
		r.firstErr = v
	}
	return r
}

// cpuUsPerCall is the CPU time per call of the measured phase, in µs (0 when
// no call was made).
func (r loadRun) cpuUsPerCall() float64 {
	if r.calls() == 0 {
		return 0
	}
	return round(float64(r.cpu.Microseconds())/float64(r.calls()), 1)
}

// calls is how many calls were made, failed ones included.
func (r loadRun) calls() int64 { return int64(len(r.lat)) + r.errors }

// percentileUs is the nearest-rank p-th percentile (0 < p <= 1) of the
// latencies, in µs; 0 when no call succeeded.
func (r loadRun) percentileUs(p float64) float64 {
	if len(r.lat) == 0 {
		return 0
	}
	idx := int(p*float64(len(r.lat))+0.5) - 1
	if idx < 0 {
		idx = 0
	}
	if idx >= len(r.lat) {
		idx = len(r.lat) - 1
	}
	return float64(r.lat[idx].Microseconds())
}

// printResult prints v as one JSON line; the exit code is 1 when a call failed.
func printResult(v any, errors int64) int {
	line, _ := json.Marshal(v)
	fmt.Println(string(line))
	if errors > 0 {
		return 1
	}
	return 0
}

func round(v float64, digits int) float64 {
	p := 1.0
	for i := 0; i < digits; i++ {
		p *= 10
	}
	return float64(int64(v*p+0.5)) / p
}
