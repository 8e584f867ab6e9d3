package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/IBM/sarama"
	"github.com/seed-b2c684ed/goka"
)

// stepTimeout bounds every wait of the demo, so a component that does not
// do its part fails the demo with a message instead of hanging it.
const stepTimeout = 30 * time.Second

// demo starts every component, plays a scripted session against them and
// stops them. Each step waits until the previous one has taken effect, as
// the components report through the journal and their statistics.
func (a *app) demo(ctx context.Context) error {
	sys, err := a.build(components)
	if err != nil {
		return err
	}
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	runDone := make(chan error, 1)
	go func() {
		runDone <- sys.run(runCtx)
		stop() // a component failed: the script stops waiting
	}()

	tm, err := goka.TopicManagerBuilderWithTopicManagerConfig(a.tmc)(a.brokers)
	if err != nil {
		stop()
		return errors.Join(err, <-runDone)
	}
	s := &session{
		app:    a,
		sys:    sys,
		tm:     tm,
		client: &http.Client{Timeout: 10 * time.Second},
	}
	if a.storageDir == "" {
		// A real cluster remembers blocks and counters of earlier runs;
		// fresh user names keep this run's story its own.
		s.suffix = "-" + time.Now().Format("150405")
	}
	scriptErr := s.play(runCtx)
	s.client.CloseIdleConnections()
	tm.Close()
	stop()
	runErr := <-runDone
	if scriptErr != nil && ctx.Err() != nil {
		fmt.Println("demo interrupted")
		return runErr
	}
	return errors.Join(scriptErr, runErr)
}

// session is one play of the script.
type session struct {
	app    *app
	sys    *system
	tm     goka.TopicManager
	client *http.Client
	suffix string
}

func (s *session) user(name string) string { return name + s.suffix }

// play is the script.
func (s *session) play(ctx context.Context) error {
	readyCtx, cancel := context.WithTimeout(ctx, stepTimeout)
	err := s.sys.ready(readyCtx)
	cancel()
	if err != nil {
		return err
	}
	feedsBefore, err := s.hwms(goka.GroupTable(collectorGroup))
	if err != nil {
		return err
	}
	storedBefore := s.app.log.mark()
	filter := s.sys.procs["filter"]
	alice, bob, carol, mallory, spammer := s.user("alice"), s.user("bob"), s.user("carol"), s.user("mallory"), s.user("spammer")
	fmt.Printf("every component is running; the service is at %s\n", s.sys.service.url)

	step("alice and bob talk")
	if err := s.send(ctx, alice, bob, "hi bob, are you gonna come tonight?"); err != nil {
		return err
	}
	if err := s.send(ctx, bob, alice, "sure, see you at eight"); err != nil {
		return err
	}

	step("mallory pesters bob, an operator blocks mallory (block-user), and mallory's next message is dropped")
	if err := s.send(ctx, mallory, bob, "buy cheap watches"); err != nil {
		return err
	}
	if err := s.block(ctx, mallory); err != nil {
		return err
	}
	if err := s.send(ctx, mallory, bob, "really cheap watches, only today"); err != nil {
		return err
	}

	step("the translator learns to replace a word (translate-word gonna \"going to\")")
	before, err := s.hwms(translatorTable)
	if err != nil {
		return err
	}
	mark := s.app.log.mark()
	if err := s.app.translateWord("gonna", "going to"); err != nil {
		return err
	}
	if err := s.wait(ctx, mark, event{"translator", "learned", "gonna"}); err != nil {
		return err
	}
	// The filter reads the translations through a lookup: its own copy of
	// the whole table, which follows the table a moment behind.
	if err := s.waitApplied(ctx, "the filter's lookup", translatorTable, before, lookupOffsets(filter, translatorTable)); err != nil {
		return err
	}
	if err := s.send(ctx, alice, carol, "carol, are you gonna come too?"); err != nil {
		return err
	}

	step(fmt.Sprintf("spammer writes to everyone and nobody answers; after %d messages the detector asks the blocker to block", spamMinSent))
	before, err = s.hwms(blockerTable)
	if err != nil {
		return err
	}
	mark = s.app.log.mark()
	for _, to := range []string{alice, bob, carol, s.user("dave"), s.user("erin")} {
		if err := s.send(ctx, spammer, to, "you won a prize, click here"); err != nil {
			return err
		}
	}
	if err := s.wait(ctx, mark, event{"blocker", "blocked", spammer}); err != nil {
		return err
	}
	if err := s.waitApplied(ctx, "the filter's join", blockerTable, before, joinOffsets(filter, blockerTable)); err != nil {
		return err
	}
	if err := s.send(ctx, spammer, alice, "last chance to claim your prize"); err != nil {
		return err
	}

	step("the feeds, as the service serves them (GET /{user}/feed)")
	// Every message the collector stored is a write to its table; the
	// service's view shows them all once it has applied that many.
	stored := 0
	for _, e := range s.app.log.since(storedBefore) {
		if e.component == "collector" && e.kind == "stored" {
			stored++
		}
	}
	if err := s.waitWrites(ctx, "the service's view", goka.GroupTable(collectorGroup), feedsBefore, stored, viewOffsets(s.sys.service.view)); err != nil {
		return err
	}
	for _, u := range []string{alice, bob, carol} {
		if err := s.printFeed(ctx, u); err != nil {
			return err
		}
	}
	fmt.Println("\ndemo finished")
	return nil
}

func step(title string) { fmt.Printf("\n>>> %s\n", title) }

// send posts a message to the service, as a user's client does, and waits
// for the filter's verdict and, when it passed, for the collector to store
// it.
func (s *session) send(ctx context.Context, from, to, content string) error {
	mark := s.app.log.mark()
	body, err := json.Marshal(sendRequest{To: to, Content: content})
	if err != nil {
		return err
	}
	url := s.sys.service.url + "/" + from + "/send"
	fmt.Printf("POST /%s/send %s\n", from, body)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return err
	}
	answer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		return fmt.Errorf("POST %s: %s: %s", url, resp.Status, answer)
	}
	verdict, err := s.waitAny(ctx, mark, event{"filter", "passed", from}, event{"filter", "dropped", from})
	if err != nil || verdict.kind == "dropped" {
		return err
	}
	return s.wait(ctx, mark, event{"collector", "stored", to})
}

// block blocks a user as the block-user command does, and waits until the
// filter's join of the blocker's table has the block.
func (s *session) block(ctx context.Context, user string) error {
	before, err := s.hwms(blockerTable)
	if err != nil {
		return err
	}
	mark := s.app.log.mark()
	if err := s.app.blockUser(user, BlockEvent{Reason: "blocked by an operator"}); err != nil {
		return err
	}
	if err := s.wait(ctx, mark, event{"blocker", "blocked", user}); err != nil {
		return err
	}
	return s.waitApplied(ctx, "the filter's join", blockerTable, before, joinOffsets(s.sys.procs["filter"], blockerTable))
}

// printFeed prints what the service answers for a user's feed.
func (s *session) printFeed(ctx context.Context, user string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.sys.service.url+"/"+user+"/feed", nil)
	if err != nil {
		return err
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET /%s/feed: %s: %s", user, resp.Status, body)
	}
	fmt.Printf("GET /%s/feed\n%s", user, body)
	return nil
}

func (s *session) wait(ctx context.Context, mark int, want event) error {
	_, err := s.waitAny(ctx, mark, want)
	return err
}

func (s *session) waitAny(ctx context.Context, mark int, want ...event) (event, error) {
	ctx, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	return s.app.log.wait(ctx, mark, want...)
}

// hwms returns the high-water mark of every partition of a table: the
// offset its next record will get.
func (s *session) hwms(table goka.Table) (map[int32]int64, error) {
	marks := make(map[int32]int64, partitions)
	for p := int32(0); p < partitions; p++ {
		hwm, err := s.tm.GetOffset(string(table), p, sarama.OffsetNewest)
		if err != nil {
			return nil, err
		}
		marks[p] = hwm
	}
	return marks, nil
}

// waitApplied waits until a record was written to table after before and
// the reader has applied it: waitWrites for one write.
func (s *session) waitApplied(ctx context.Context, reader string, table goka.Table, before map[int32]int64, applied func() map[int32]int64) error {
	return s.waitWrites(ctx, reader, table, before, 1, applied)
}

// waitWrites waits until table has at least writes more records than at
// before, and the reader has applied every record in it: for every partition
// the last offset applied is the one before the high-water mark. The
// statistics of processors and views tell what they applied.
func (s *session) waitWrites(ctx context.Context, reader string, table goka.Table, before map[int32]int64, writes int, applied func() map[int32]int64) error {
	ctx, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	ticker := time.NewTicker(20 * time.Millisecond)
	defer ticker.Stop()
	for {
		hwms, err := s.hwms(table)
		if err != nil {
			return err
		}
		if total(hwms)-total(before) >= int64(writes) && caughtUp(applied(), hwms) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s to apply %d new records of %s: %w", reader, writes, table, ctx.Err())
		case <-ticker.C:
		}
	}
}

func total(marks map[int32]int64) int64 {
	var n int64
	for _, m := range marks {
		n += m
	}
	return n
}

func caughtUp(applied, hwms map[int32]int64) bool {
	for p, hwm := range hwms {
		if hwm == 0 {
			continue
		}
		if last, ok := applied[p]; !ok || last < hwm-1 {
			return false
		}
	}
	return true
}

// joinOffsets returns, for every partition of a processor, the last offset
// its join of table applied.
func joinOffsets(proc *goka.Processor, table goka.Table) func() map[int32]int64 {
	return func() map[int32]int64 {
		offsets := make(map[int32]int64)
		for p, pp := range proc.Stats().Group {
			if ts, ok := pp.Joined[string(table)]; ok {
				offsets[p] = ts.Input.LastOffset
			}
		}
		return offsets
	}
}

// lookupOffsets returns the last offset that a processor's lookup of table
// applied, for every partition of the table.
func lookupOffsets(proc *goka.Processor, table goka.Table) func() map[int32]int64 {
	return func() map[int32]int64 {
		offsets := make(map[int32]int64)
		if vs, ok := proc.Stats().Lookup[string(table)]; ok {
			for p, ts := range vs.Partitions {
				offsets[p] = ts.Input.LastOffset
			}
		}
		return offsets
	}
}

// viewOffsets returns the last offset a view applied, for every partition.
func viewOffsets(view *goka.View) func() map[int32]int64 {
	return func() map[int32]int64 {
		offsets := make(map[int32]int64)
		for p, ts := range view.Stats(context.Background()).Partitions {
			offsets[p] = ts.Input.LastOffset
		}
		return offsets
	}
}
