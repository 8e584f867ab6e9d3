package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"slices"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/seed-b2c684ed/goka"
	"github.com/seed-b2c684ed/goka/storage/redis"
	"github.com/seed-b2c684ed/goka/storage/redis/redistest"
)

const (
	// offsetField is where the storage keeps a partition's offset, in the
	// partition's own hash, apart from every user (see package
	// storage/redis).
	offsetField = redis.OffsetField
	// dirtyOffset is the offset a running processor stores in place of the
	// real one, so that a crash is noticed at the next start; a clean stop
	// writes the real offset back.
	dirtyOffset = "-100"
)

// openRedis connects to -redis, or starts a throwaway redis-server when it is
// empty. It returns the namespace to store under, which is -namespace except
// in one case: an embedded broker starts empty every time, while a real
// Redis keeps the offsets of earlier runs, which would point past the end of
// the new broker's table. Then the run gets a namespace of its own, removed
// at the end.
func openRedis(ctx context.Context, embeddedBroker bool) (client *goredis.Client, ns string, closeRedis func(), err error) {
	if *redisAddr == "" {
		startCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		srv, err := redistest.Start(startCtx)
		if errors.Is(err, redistest.ErrNotInstalled) {
			return nil, "", nil, fmt.Errorf("this example needs redis-server: run `scripts/redis.sh install`, or pass -redis host:port of a running server: %w", err)
		}
		if err != nil {
			return nil, "", nil, err
		}
		log.Printf("throwaway redis-server at %s", srv.Addr())
		client := goredis.NewClient(&goredis.Options{Addr: srv.Addr()})
		return client, *namespace, func() {
			client.Close()
			if err := srv.Close(); err != nil {
				log.Printf("stopping redis-server: %v", err)
			}
		}, nil
	}

	client = goredis.NewClient(&goredis.Options{Addr: *redisAddr})
	if err := client.Ping(ctx).Err(); err != nil {
		client.Close()
		return nil, "", nil, fmt.Errorf("connecting to redis at %s: %w", *redisAddr, err)
	}
	if !embeddedBroker {
		return client, *namespace, func() { client.Close() }, nil
	}
	ns = fmt.Sprintf("%s-run-%d", *namespace, time.Now().UnixNano())
	log.Printf("embedded broker with a real Redis: storing under namespace %s, deleted at the end", ns)
	return client, ns, func() {
		if err := deleteNamespace(client, ns); err != nil {
			log.Printf("cleaning up redis: %v", err)
		}
		client.Close()
	}, nil
}

// deleteNamespace removes every hash of namespace ns.
func deleteNamespace(client *goredis.Client, ns string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	keys, err := scanKeys(ctx, client, ns+":*")
	if err != nil || len(keys) == 0 {
		return err
	}
	return client.Del(ctx, keys...).Err()
}

func scanKeys(ctx context.Context, client *goredis.Client, pattern string) ([]string, error) {
	var keys []string
	iter := client.Scan(ctx, 0, pattern, 100).Iterator()
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	if err := iter.Err(); err != nil {
		return nil, fmt.Errorf("scanning redis for %s: %w", pattern, err)
	}
	slices.Sort(keys)
	return keys, nil
}

// sampleUser is the user whose stored value the report shows.
const sampleUser = "alice"

// report reads the table's hashes straight from Redis every two seconds and
// prints how many users they hold, their offsets and the sample user's value,
// next to the value the processor serves for that user: the processor's
// state, seen from outside the program and from inside.
func report(ctx context.Context, client *goredis.Client, ns, table string, get goka.Getter) error {
	ticker := time.NewTicker(2 * time.Second)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		}
		line, err := describe(ctx, client, ns+":"+table+":")
		if err != nil {
			if ctx.Err() != nil {
				return nil // stopped under us: shutting down
			}
			return err
		}
		fmt.Println(line + "; the processor serves " + serves(get))
	}
}

// serves is the sample user's value as the processor answers Get, as JSON.
// A failing Get is reported, not fatal: before the group has assigned the
// partition, or while it opens, the processor has no answer yet.
func serves(get goka.Getter) string {
	v, err := get(sampleUser)
	switch {
	case err != nil:
		return fmt.Sprintf("no %s yet (%v)", sampleUser, err)
	case v == nil:
		return "no " + sampleUser + " yet"
	}
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%s = %v", sampleUser, v)
	}
	return fmt.Sprintf("%s = %s", sampleUser, data)
}

// describe summarises the hashes whose names start with prefix: users,
// offsets and the sample user's stored value.
func describe(ctx context.Context, client *goredis.Client, prefix string) (string, error) {
	hashes, err := scanKeys(ctx, client, prefix+"*")
	if err != nil {
		return "", err
	}
	var (
		users   int64
		offsets []string
		sample  = sampleUser + " not in redis yet"
	)
	for _, h := range hashes {
		n, err := client.HLen(ctx, h).Result()
		if err != nil {
			return "", fmt.Errorf("HLEN %s: %w", h, err)
		}
		meta, err := client.HMGet(ctx, h, offsetField, redis.LayoutField).Result()
		if err != nil {
			return "", fmt.Errorf("HMGET %s: %w", h, err)
		}
		for _, v := range meta {
			if v != nil {
				n-- // the metadata fields are no users
			}
		}
		offset := "-"
		if v, ok := meta[0].(string); ok {
			offset = v
		}
		if offset == dirtyOffset {
			offset = "dirty"
		}
		users += n
		offsets = append(offsets, strings.TrimPrefix(h, prefix)+":"+offset)
		v, err := client.HGet(ctx, h, sampleUser).Result()
		if err == nil {
			sample = fmt.Sprintf("HGET %s %s = %s", h, sampleUser, v)
		} else if !errors.Is(err, goredis.Nil) {
			return "", fmt.Errorf("HGET %s %s: %w", h, sampleUser, err)
		}
	}
	return fmt.Sprintf("[redis] %s* holds %d users in %d hashes; offsets %s; %s",
		prefix, users, len(hashes), strings.Join(offsets, " "), sample), nil
}
