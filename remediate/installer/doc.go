// Package installer drives an interactive installer through its dialogue:
// it answers the prompts it knows (matched by their text), stops on any
// prompt it does not know instead of answering blindly, notices an
// installer that waits for nothing, and keeps a transcript with the
// secrets it typed redacted. It knows nothing of the runbook: the answers
// of each installer of the upgrade are remediate's (answers.go).
package installer
