package mocks_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/IBM/sarama"
	"github.com/golang/mock/gomock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed-b2c684ed/goka"
	"github.com/seed-b2c684ed/goka/mocks"
	"github.com/seed-b2c684ed/goka/storage"
)

// Each case holds a mock in a variable of the interface it stands in for, so
// a generation that no longer satisfies the interface fails to compile, and
// checks that a call through the interface reaches the recorded expectation,
// so a mock wired to the wrong method fails the test. The controller's
// cleanup fails the test if an expected call never arrives.
func TestMocksImplementTheirInterfaces(t *testing.T) {
	errInjected := errors.New("injected")

	tests := []struct {
		name string
		run  func(t *testing.T, ctrl *gomock.Controller)
	}{
		{"Storage", func(t *testing.T, ctrl *gomock.Controller) {
			m := mocks.NewMockStorage(ctrl)
			m.EXPECT().Get("key").Return([]byte("value"), nil)

			var st storage.Storage = m
			got, err := st.Get("key")
			require.NoError(t, err)
			assert.Equal(t, []byte("value"), got)
		}},
		{"TopicManager", func(t *testing.T, ctrl *gomock.Controller) {
			m := mocks.NewMockTopicManager(ctrl)
			m.EXPECT().EnsureTableExists("group-table", 4).Return(errInjected)

			var tm goka.TopicManager = m
			assert.ErrorIs(t, tm.EnsureTableExists("group-table", 4), errInjected)
		}},
		{"Producer", func(t *testing.T, ctrl *gomock.Controller) {
			promise := goka.NewPromise()
			m := mocks.NewMockProducer(ctrl)
			m.EXPECT().Emit("topic", "key", []byte("value")).Return(promise)

			var p goka.Producer = m
			assert.Same(t, promise, p.Emit("topic", "key", []byte("value")))
		}},
		{"Broker", func(t *testing.T, ctrl *gomock.Controller) {
			m := mocks.NewMockBroker(ctrl)
			m.EXPECT().Addr().Return("127.0.0.1:9092")

			var b goka.Broker = m
			assert.Equal(t, "127.0.0.1:9092", b.Addr())
		}},
		{"Client", func(t *testing.T, ctrl *gomock.Controller) {
			m := mocks.NewMockClient(ctrl)
			m.EXPECT().Partitions("topic").Return([]int32{0, 1, 2}, nil)

			var c sarama.Client = m
			got, err := c.Partitions("topic")
			require.NoError(t, err)
			assert.Equal(t, []int32{0, 1, 2}, got)
		}},
		{"ClusterAdmin", func(t *testing.T, ctrl *gomock.Controller) {
			detail := &sarama.TopicDetail{NumPartitions: 3, ReplicationFactor: 1}
			m := mocks.NewMockClusterAdmin(ctrl)
			m.EXPECT().CreateTopic("topic", detail, false).Return(errInjected)

			var a sarama.ClusterAdmin = m
			assert.ErrorIs(t, a.CreateTopic("topic", detail, false), errInjected)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.run(t, gomock.NewController(t))
		})
	}
}

// fatalReporter records what the controller reports. Its Fatalf panics, as
// testing.T's ends the goroutine, because the controller does not expect
// Fatalf to return.
type fatalReporter struct {
	fatal string
}

type fatalPanic struct{}

func (r *fatalReporter) Errorf(format string, args ...interface{}) {
	r.fatal = fmt.Sprintf(format, args...)
}

func (r *fatalReporter) Fatalf(format string, args ...interface{}) {
	r.fatal = fmt.Sprintf(format, args...)
	panic(fatalPanic{})
}

func (r *fatalReporter) Helper() {}

// A call nobody expected must be reported, not answered with zero values;
// otherwise a user's test would pass while the code under test does
// something the test never described.
func TestUnexpectedCallIsReported(t *testing.T) {
	reporter := &fatalReporter{}
	ctrl := gomock.NewController(reporter)
	var st storage.Storage = mocks.NewMockStorage(ctrl)

	require.PanicsWithValue(t, fatalPanic{}, func() {
		_ = st.Set("key", []byte("value"))
	})
	assert.Contains(t, reporter.fatal, "Unexpected call")
	assert.Contains(t, reporter.fatal, "Set")
}
