package facts

import "time"

// Queue summarises INST/imta/queue, per channel and in total.
type Queue struct {
	Path     string         `json:"path"`
	Channels []QueueChannel `json:"channels"`
	Total    QueueCounts    `json:"total"`
}

// QueueChannel is one channel directory's counts.
type QueueChannel struct {
	Name string `json:"name"`
	QueueCounts
}

// QueueCounts counts message files. Temp ($-prefixed) files are counted
// apart and not as messages. Held (.HELD) messages are messages too: Held
// is the part of Messages not eligible for delivery. Bytes, Oldest and
// Newest are over messages (held included), by modification time;
// OldestActive is the oldest message that is not held: the one a stuck
// queue is judged by (a held message waits for the operator, not the MTA).
type QueueCounts struct {
	Messages int64      `json:"messages"`
	Held     int64      `json:"held"`
	Temp     int64      `json:"temp"`
	Bytes    int64      `json:"bytes"`
	Oldest   *time.Time `json:"oldest,omitempty"`
	Newest   *time.Time `json:"newest,omitempty"`
	// OldestActive is absent when every message is held (or none queued).
	OldestActive *time.Time `json:"oldest_active,omitempty"`
}

// Store summarises the primary message-store partition.
type Store struct {
	Path string `json:"path"`
	// Exists is false when the partition directory is missing; the
	// counts are then zero.
	Exists    bool  `json:"exists"`
	Mailboxes int64 `json:"mailboxes"`
	Bytes     int64 `json:"bytes"`
	Files     int64 `json:"files"`
	// Users lists the mailbox uids (the =<uid> directory names without "=")
	// sorted; omitted above UsersLimit mailboxes, with Digest kept instead.
	Users []string `json:"users,omitempty"`
	// UsersDigest is the SHA-256 over the sorted uids, one per line, so a
	// baseline can be compared without listing 10⁶ names. Empty when the
	// store holds more mailboxes than the collector sorts (10⁶).
	UsersDigest string `json:"users_digest"`
}
