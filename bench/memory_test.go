package main

import (
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseStatus(t *testing.T) {
	status := []byte("Name:\tbench\nVmPeak:\t 1489672 kB\nVmHWM:\t  207468 kB\nVmRSS:\t    2840 kB\nThreads:\t5\n")
	for _, tc := range []struct {
		field string
		want  int64
		err   bool
	}{
		{"VmHWM", 207468 * 1024, false},
		{"VmRSS", 2840 * 1024, false},
		{"VmSwap", 0, true},  // absent
		{"Threads", 0, true}, // no unit
		{"Vm", 0, true},      // a prefix is not a field
	} {
		t.Run(tc.field, func(t *testing.T) {
			got, err := parseStatus(status, tc.field)
			if tc.err {
				assert.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestMemWindowSeesAnAllocation(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	w := openMemWindow()
	buf := make([]byte, 64<<20)
	for i := range buf {
		buf[i] = 1
	}
	m := w.close()
	runtime.KeepAlive(buf)
	assert.GreaterOrEqual(t, m.Peak, int64(64<<20))
	assert.GreaterOrEqual(t, m.Delta, int64(60<<20))
}
