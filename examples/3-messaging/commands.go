package main

import (
	"errors"
	"flag"
	"strings"

	"github.com/seed-b2c684ed/goka"
	"github.com/seed-b2c684ed/goka/codec"
)

// blockUserCommand asks the blocker to block or unblock a user.
func blockUserCommand(a *app, args []string) error {
	fs := flag.NewFlagSet("block-user", flag.ContinueOnError)
	user := fs.String("user", "", "the user to block")
	unblock := fs.Bool("unblock", false, "unblock the user instead")
	reason := fs.String("reason", "blocked by an operator", "why, as the filter reports it")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *user == "" {
		return errors.New("block-user: -user is needed")
	}
	return a.blockUser(*user, BlockEvent{Unblock: *unblock, Reason: *reason})
}

// translateWordCommand tells the translator how to replace a word.
func translateWordCommand(a *app, args []string) error {
	fs := flag.NewFlagSet("translate-word", flag.ContinueOnError)
	word := fs.String("word", "", "the word to replace")
	to := fs.String("to", "", "its replacement; empty stops replacing it")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *word == "" {
		return errors.New("translate-word: -word is needed")
	}
	return a.translateWord(*word, *to)
}

// blockUser writes a block event to the blocker's input. A component outside
// any processor writes with an Emitter, as here.
func (a *app) blockUser(user string, ev BlockEvent) error {
	return a.emitOnce(blockStream, new(codec.JSON[BlockEvent]), user, ev)
}

// translateWord writes a word's replacement to the translator's input.
func (a *app) translateWord(word, to string) error {
	return a.emitOnce(translateStream, new(codec.String), strings.ToLower(word), to)
}

// emitOnce sends one message and waits until Kafka has it.
func (a *app) emitOnce(topic goka.Stream, c goka.Codec, key string, value interface{}) error {
	emitter, err := goka.NewEmitter(a.brokers, topic, c)
	if err != nil {
		return err
	}
	err = emitter.EmitSync(key, value)
	return errors.Join(err, emitter.Finish())
}
