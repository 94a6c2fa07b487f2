// Package treebackup copies a directory tree with a SHA-256 manifest,
// verifies a copy by re-reading it against that manifest, restores a tree
// from a copy so that it equals the copy exactly (content, modes, owners,
// times, hard links, symlinks), and compares a tree with a copy. Work is
// spread over a pool of workers, one directory each; a copy that cannot be
// verified is a CorruptBackupError and is never restored.
//
// It knows nothing of the runbook: remediate decides what to back up and
// when; bench times it against cp -a and sha256sum.
package treebackup
