package redis

import (
	"context"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed-b2c684ed/goka/storage"
)

func TestBuilderLayout(t *testing.T) {
	client := newClient(t)
	ctx := context.Background()
	useHashes(t, client, "layout:orders:3")
	st, err := RedisBuilder(client, "layout")("orders", 3)
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })

	require.NoError(t, st.Set("key", []byte("value")))
	require.NoError(t, st.Set("\x00zero", []byte("escaped")))
	require.NoError(t, st.Set("__offset", []byte("data")))
	require.NoError(t, st.SetOffset(42))

	fields, err := client.HGetAll(ctx, "layout:orders:3").Result()
	require.NoError(t, err)
	assert.Equal(t, map[string]string{
		"key":            "value",
		"\x00\x00zero":   "escaped",
		"__offset":       "data",
		"\x00\x01offset": "42",
		"\x00\x01layout": "keyspace-layout-1",
	}, fields, "one hash per partition; keys starting with 0x00 escaped, metadata under 0x00 0x01")
}

func TestMalformedOffset(t *testing.T) {
	client := newClient(t)
	const hash = "malformed:offset"
	useHashes(t, client, hash)
	require.NoError(t, client.HSet(context.Background(), hash, layoutField, "keyspace-layout-1", offsetField, "twelve").Err())
	st, err := New(client, hash)
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })

	_, err = st.GetOffset(-1)
	require.Error(t, err)
	var numErr *strconv.NumError
	assert.ErrorAs(t, err, &numErr, "the parse error stays reachable")
	assert.Contains(t, err.Error(), hash, "the error names the hash")
}

func TestConstructorErrors(t *testing.T) {
	client := newClient(t)

	_, err := New(nil, "hash")
	assert.ErrorContains(t, err, "nil client")
	_, err = New(client, "")
	assert.ErrorContains(t, err, "empty hash name")

	st, err := RedisBuilder(client, "")("topic", 0)
	assert.ErrorContains(t, err, "missing namespace")
	assert.Nil(t, st)

	// A port nobody listens on: New pings, so it fails at once.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	unreachable := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: time.Second})
	t.Cleanup(func() { _ = unreachable.Close() })
	_, err = New(unreachable, "hash")
	var opErr *net.OpError
	assert.ErrorAs(t, err, &opErr, "the dial error stays reachable")
	assert.ErrorContains(t, err, "ping")
}

func TestCloseLeavesClientOpen(t *testing.T) {
	client := newClient(t)
	useHashes(t, client, "close:topic:0", "close:topic:1")
	build := RedisBuilder(client, "close")
	first, err := build("topic", 0)
	require.NoError(t, err)
	second, err := build("topic", 1)
	require.NoError(t, err)
	t.Cleanup(func() { _ = second.Close() })

	require.NoError(t, first.Set("k", []byte("v")))
	require.NoError(t, first.Close())
	_, err = first.Get("k")
	assert.ErrorIs(t, err, storage.ErrClosed)

	require.NoError(t, second.Set("k", []byte("w")), "the other partitions keep the shared client")
	require.NoError(t, client.Ping(context.Background()).Err())

	again, err := build("topic", 0)
	require.NoError(t, err)
	t.Cleanup(func() { _ = again.Close() })
	value, err := again.Get("k")
	require.NoError(t, err)
	assert.Equal(t, []byte("v"), value, "Close keeps the hash")
}

// batchCommands records the commands of the transactions a client sends;
// the client's own connection set-up pipelines are left out.
type batchCommands struct {
	pipelines int
	names     []string
}

func (h *batchCommands) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *batchCommands) ProcessHook(next redis.ProcessHook) redis.ProcessHook { return next }

func (h *batchCommands) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if len(cmds) > 0 && cmds[0].Name() == "multi" {
			h.pipelines++
			for _, cmd := range cmds {
				h.names = append(h.names, cmd.Name())
			}
		}
		return next(ctx, cmds)
	}
}

func TestWriteBatchIsOneTransaction(t *testing.T) {
	client := newClient(t)
	useHashes(t, client, "batch:transaction")
	hook := &batchCommands{}
	client.AddHook(hook)
	st, err := New(client, "batch:transaction")
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })

	var b storage.Batch
	b.Set("a", []byte("1"))
	b.Set("b", []byte("2"))
	b.Delete("a")
	b.Delete("c")
	b.Set("a", []byte("3"))
	b.SetOffset(9)
	require.NoError(t, storage.WriteBatch(st, &b))

	assert.Equal(t, 1, hook.pipelines)
	assert.Equal(t, []string{"multi", "hset", "hdel", "hset", "hset", "exec"}, hook.names,
		"runs of sets and deletes are folded, the offset comes last")
	value, err := st.Get("a")
	require.NoError(t, err)
	assert.Equal(t, []byte("3"), value)

	hook.pipelines = 0
	b.Reset()
	require.NoError(t, storage.WriteBatch(st, &b))
	assert.Zero(t, hook.pipelines, "an empty batch sends nothing")
}
