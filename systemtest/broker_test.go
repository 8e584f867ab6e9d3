package systemtest_test

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed-b2c684ed/goka/systemtest"
)

func TestBrokersFromEnv(t *testing.T) {
	tests := []struct {
		name string
		env  string
		want []string
	}{
		{name: "unset", env: "", want: nil},
		{name: "blank", env: " , ", want: nil},
		{name: "one", env: "127.0.0.1:9092", want: []string{"127.0.0.1:9092"}},
		{name: "several with spaces", env: "a:1, b:2 ,,c:3", want: []string{"a:1", "b:2", "c:3"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(systemtest.EnvBrokers, tt.env)
			assert.Equal(t, tt.want, systemtest.BrokersFromEnv())
		})
	}
}

func TestCheckEnvironment(t *testing.T) {
	tests := []struct {
		name       string
		brokers    string
		cluster    string
		require    string
		wantErr    error
		wantBanner bool
	}{
		{name: "broker named", brokers: "127.0.0.1:9092", require: "1"},
		{name: "only the cluster named", cluster: "127.0.0.1:29092,127.0.0.1:29093", require: "1"},
		{name: "no broker, not required", wantBanner: true},
		{name: "no broker, required", require: "1", wantErr: systemtest.ErrNoBroker},
		{name: "no broker, require not 1", require: "0", wantBanner: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(systemtest.EnvBrokers, tt.brokers)
			t.Setenv(systemtest.EnvClusterBrokers, tt.cluster)
			t.Setenv(systemtest.EnvRequire, tt.require)
			var out bytes.Buffer
			err := systemtest.CheckEnvironment(&out)
			require.ErrorIs(t, err, tt.wantErr)
			if tt.wantBanner {
				assert.Contains(t, out.String(), "SYSTEM TESTS SKIPPED")
				assert.Contains(t, out.String(), "make systemtest")
			} else {
				assert.Empty(t, out.String())
			}
		})
	}
}

func TestEnvClusterBrokers(t *testing.T) {
	t.Setenv(systemtest.EnvClusterBrokers, "127.0.0.1:29092, 127.0.0.1:29093,127.0.0.1:29094")
	assert.Equal(t, []string{"127.0.0.1:29092", "127.0.0.1:29093", "127.0.0.1:29094"}, systemtest.ClusterBrokersFromEnv())
	t.Setenv(systemtest.EnvClusterBrokers, "")
	assert.Nil(t, systemtest.ClusterBrokersFromEnv())
}

func TestUniqueName(t *testing.T) {
	a := systemtest.UniqueName(t, "topic")
	b := systemtest.UniqueName(t, "topic")
	assert.NotEqual(t, a, b)
	assert.Regexp(t, `^topic-TestUniqueName-[0-9]+-[0-9]+$`, a)

	t.Run("sub/test name", func(t *testing.T) {
		assert.Regexp(t, `^g-TestUniqueName-sub-test_name-[0-9]+-[0-9]+$`, systemtest.UniqueName(t, "g"))
	})
}
