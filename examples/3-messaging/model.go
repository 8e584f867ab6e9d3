package main

import (
	"time"

	"github.com/seed-b2c684ed/goka"
)

// The streams of the service. Each is keyed by the user it concerns, except
// the translations, which are keyed by word.
const (
	// sentStream: a Message, keyed by its sender; written by the service.
	sentStream goka.Stream = "messaging-sent"
	// receivedStream: a Message, keyed by its receiver; written by the
	// filter once a message passed.
	receivedStream goka.Stream = "messaging-received"
	// blockStream: a BlockEvent, keyed by the user to block or unblock;
	// written by the block-user command and by the detector.
	blockStream goka.Stream = "messaging-block-user"
	// translateStream: the replacement of a word, keyed by the word;
	// written by the translate-word command.
	translateStream goka.Stream = "messaging-translate-word"
)

// The groups; each owns the table named after it (GroupTable).
const (
	collectorGroup  goka.Group = "messaging-collector"
	filterGroup     goka.Group = "messaging-filter"
	blockerGroup    goka.Group = "messaging-blocker"
	translatorGroup goka.Group = "messaging-translator"
	detectorGroup   goka.Group = "messaging-detector"
)

// partitions is the partition count of every topic. The filter reads the
// sent stream and joins the blocker's table, which must therefore have the
// same count: a user's messages and the user's block live in the same
// partition number of both.
const partitions = 4

// Message is one message from a user to another.
type Message struct {
	From    string `json:"from"`
	To      string `json:"to"`
	Content string `json:"content"`
}

// BlockEvent asks the blocker to block or unblock the user it is keyed by.
type BlockEvent struct {
	Unblock bool   `json:"unblock,omitempty"`
	Reason  string `json:"reason,omitempty"`
}

// Block is the blocker's table value: the user it is keyed by is blocked.
// Unblocked users have no value.
type Block struct {
	Reason string    `json:"reason"`
	Since  time.Time `json:"since"`
}

// Counters is the detector's table value for a user.
type Counters struct {
	Sent     int  `json:"sent"`
	Received int  `json:"received"`
	Flagged  bool `json:"flagged,omitempty"` // reported as a spammer already
}
