// Package procs is part of msguard-sim (see package sim).
package procs

import (
	"context"
	"errors"
	"io"
)

// Start starts every service of the host through its own scripts:
// slapd-*/start-slapd, start-admin, msg-*/start-msg, https-*/start.
func Start(ctx context.Context, root string, log io.Writer) error { return errors.New("not built yet") }

// Stop stops every service of the host through its own scripts, in the
// reverse order.
func Stop(ctx context.Context, root string, log io.Writer) error { return errors.New("not built yet") }

// Destroy stops everything the host started, runs the registered
// teardowns (loop device, directory dirs) and removes the tree.
func Destroy(ctx context.Context, root string, log io.Writer) error {
	return errors.New("not built yet")
}
