package procs

import (
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/msguard/msguard/sim"
	"github.com/msguard/msguard/sim/tree"
)

// deliveryPoll is how often the job controller looks at its job list.
const deliveryPoll = 100 * time.Millisecond

// deliveringSubmitted wraps the job controller's serve: while it runs, the
// messages tcp_smtp_server enqueued (its job list, tree.JobsDir) are
// delivered into their recipients' store mailboxes and leave the queue,
// every deliveryPoll, on every version: the 5.0 and 5.1 MTAs leave the
// planted backlog alone (deliversOnStart) but deliver what they accept.
// FailSpec.DeliveryStops, read from the state file each pass, pauses it.
// The daemon exits only once the loop has stopped, so no message moves
// after stop-msg returns.
func deliveringSubmitted(st *sim.State, stderr io.Writer, serve func(context.Context, net.Listener) error) func(context.Context, net.Listener) error {
	return func(ctx context.Context, ln net.Listener) error {
		done := make(chan struct{})
		go func() {
			defer close(done)
			deliverLoop(ctx, st, stderr)
		}()
		err := serve(ctx, ln)
		<-done
		return err
	}
}

// deliverLoop runs delivery passes until ctx ends.
func deliverLoop(ctx context.Context, st *sim.State, stderr io.Writer) {
	p := st.Paths()
	reported := map[string]string{} // job -> last error logged, so a stuck job is logged once
	t := time.NewTicker(deliveryPoll)
	defer t.Stop()
	for {
		if !liveFail(st).DeliveryStops {
			deliverPass(ctx, p, stderr, reported)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// deliverPass delivers every waiting job once.
func deliverPass(ctx context.Context, p sim.Paths, stderr io.Writer, reported map[string]string) {
	jobs, err := tree.PendingJobs(p)
	if err != nil {
		if reported[""] != err.Error() {
			fmt.Fprintf(stderr, "%s job_controller: read the job list: %v\n", time.Now().Format(time.RFC3339), err)
			reported[""] = err.Error()
		}
		return
	}
	for _, job := range jobs {
		if ctx.Err() != nil {
			return
		}
		name, rel := job[0], job[1]
		uids, err := tree.DeliverSubmitted(p, name, rel)
		if err != nil {
			if reported[name] != err.Error() {
				fmt.Fprintf(stderr, "%s job_controller: deliver %s: %v\n", time.Now().Format(time.RFC3339), rel, err)
				reported[name] = err.Error()
			}
			continue
		}
		delete(reported, name)
		if len(uids) > 0 {
			fmt.Fprintf(stderr, "%s job_controller: delivered %s to %s\n", time.Now().Format(time.RFC3339), rel, strings.Join(uids, ", "))
		}
	}
}
