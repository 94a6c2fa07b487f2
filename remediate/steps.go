package remediate

import (
	"context"
	"errors"
	"path/filepath"

	"github.com/msguard/msguard/collectors/facts"
)

// planner builds the steps of one run; its fields are what the steps'
// closures share. The steps of each runbook section are in a file of
// their own: steps_stop.go (§1), steps_backup.go (§2), steps_install.go
// (§3, §4), steps_post.go (§5), steps_ha.go (§6); backout.go is §7.
type planner struct {
	h     *HostInfo
	o     *Options
	media *MediaInfo
	dir   string // backup directory
	runID string
	// savedStore is where backup.store renames a plain-directory store.
	savedStore string
}

// Backup names inside the backup directory.
const (
	backupServerRoot = "server-root"
	backupQueue      = "queue"
)

// BuildPlan returns the steps this host needs, in the runbook's order.
//
// On a cluster the data service is taken out of the cluster's control
// (§6) before anything is stopped: a cluster agent restarts the messaging
// daemons that a stop script stops while the service is on. It is given
// back to the cluster only after post.start has started the upgraded
// servers, once the store is back in place: a cluster that starts the
// servers earlier would write into the empty store directory.
func BuildPlan(h *HostInfo, o *Options, media *MediaInfo, backupDir, runID string) *Plan {
	p := &planner{h: h, o: o, media: media, dir: backupDir, runID: runID,
		savedStore: h.StorePath + ".msguard-" + runID}
	var steps []*Step
	steps = append(steps, p.haBefore()...)
	steps = append(steps, p.stopSteps()...)
	steps = append(steps, p.backupSteps()...)
	steps = append(steps, p.dsSteps()...)
	steps = append(steps, p.msgStep())
	steps = append(steps, p.haAgent()...)
	post := p.postSteps()
	// post.start, then the cluster takes the servers back, then the checks.
	i := 0
	for i < len(post) && post[i].ID != "post.start" {
		i++
	}
	steps = append(steps, post[:i+1]...)
	steps = append(steps, p.haAfter()...)
	steps = append(steps, post[i+1:]...)
	return &Plan{Root: h.Root, BackupDir: backupDir, RunID: runID, Host: h, Steps: steps, planner: p}
}

func (p *planner) mediaPath() string {
	if p.media == nil {
		return ""
	}
	return p.media.Path
}

// ha reports whether the install runs under a cluster (runbook §6).
func (p *planner) ha() bool { return p.h.HA != "" && p.h.HA != "none" }

// startMsgArgv is how the Messaging Server is started by hand: with the
// "ha" argument on a cluster (runbook §5 post.start), without elsewhere.
func (p *planner) startMsgArgv() []string {
	argv := []string{filepath.Join(p.h.InstDir, "start-msg")}
	if p.ha() {
		argv = append(argv, "ha")
	}
	return argv
}

// errNoCollector is collect's error when the command wired no collector.
var errNoCollector = errors.New("no collector")

// collect takes a snapshot of the host, for the verify functions that
// judge what the collectors read (versions, the store).
func (p *planner) collect(ctx context.Context) (*facts.Snapshot, error) {
	if p.o.Collect == nil {
		return nil, errNoCollector
	}
	return p.o.Collect(ctx)
}
