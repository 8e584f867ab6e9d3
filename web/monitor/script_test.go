package monitor

import (
	"context"
	"os/exec"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestScript runs the tests of the pure parts of static/monitor.js (models,
// rates, formatting) under node; drawing and polling need a browser.
func TestScript(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, node, "testdata/monitor_test.js").CombinedOutput()
	require.NoError(t, err, "%s", out)
	t.Logf("%s", out)
}
