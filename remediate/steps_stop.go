package remediate

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/msguard/msguard/collectors/facts"
)

// ---- §1 stop message processing -------------------------------------------

var (
	intakeDaemons = []string{"dispatcher", "tcp_smtp_server"}
	msgDaemons    = []string{"stored", "imapd", "popd", "mshttpd", "job_controller", "enpd"}
)

func (p *planner) stopSteps() []*Step {
	inst, root, ws := p.h.InstDir, p.h.Root, p.h.WSRoot
	steps := []*Step{
		p.stopStep("stop.dispatcher", "stop mail intake first (dispatcher)",
			[]string{filepath.Join(inst, "imsimta"), "stop", "dispatcher"},
			[]string{filepath.Join(inst, "imsimta"), "start", "dispatcher"}, byDaemon(intakeDaemons...)),
		p.stopStep("stop.admin", "stop the Administration Server",
			[]string{filepath.Join(root, "stop-admin")}, []string{filepath.Join(root, "start-admin")}, byRole("admin-server")),
		p.stopStep("stop.msg", "stop the Messaging Server",
			[]string{filepath.Join(inst, "stop-msg")}, p.startMsgArgv(), byDaemon(append(msgDaemons, intakeDaemons...)...)),
	}
	admin := p.stopStep("stop.webserver_admin", "stop the Web Server admin instance",
		[]string{filepath.Join(ws, "https-admserv", "stop")}, []string{filepath.Join(ws, "https-admserv", "start")}, byRole("webserver:https-admserv"))
	if !p.h.HasWebAdmin {
		admin.Skip = "no Web Server admin instance (https-admserv)"
	}
	steps = append(steps, admin)
	if len(p.h.WebInstances) == 0 {
		steps = append(steps, &Step{ID: "stop.webserver_instance", Title: "stop each Web Server instance", Skip: "no Web Server instance"})
	} else {
		var cmds, starts [][]string
		var roles []string
		for _, w := range p.h.WebInstances {
			cmds = append(cmds, []string{filepath.Join(ws, w, "stop")})
			starts = append(starts, []string{filepath.Join(ws, w, "start")})
			roles = append(roles, "webserver:"+w)
		}
		steps = append(steps, p.multiStopStep("stop.webserver_instance", "stop each Web Server instance", cmds, starts, byRole(roles...)))
	}
	return steps
}

// procFilter picks the daemons a stop step must make disappear.
type procFilter func(facts.Process) bool

func byDaemon(names ...string) procFilter {
	return func(pr facts.Process) bool {
		for _, n := range names {
			if pr.Daemon == n {
				return true
			}
		}
		return false
	}
}

func byRole(roles ...string) procFilter {
	return func(pr facts.Process) bool {
		for _, r := range roles {
			if pr.Role == r {
				return true
			}
		}
		return false
	}
}

func (p *planner) stopStep(id, title string, stop, start []string, running procFilter) *Step {
	return p.multiStopStep(id, title, [][]string{stop}, [][]string{start}, running)
}

// multiStopStep stops through the install's own scripts and waits for the
// processes to exit; undo starts them again.
func (p *planner) multiStopStep(id, title string, stops, starts [][]string, running procFilter) *Step {
	s := &Step{ID: id, Title: title}
	for _, c := range stops {
		s.Commands = append(s.Commands, strings.Join(c, " "))
	}
	s.check = func(ctx context.Context) (bool, error) {
		left, err := p.matching(ctx, running)
		return len(left) == 0, err
	}
	s.do = func(ctx context.Context) error {
		for _, c := range stops {
			if _, err := runScript(ctx, p.o.StopTimeout+time.Minute, c[0], c[1:]...); err != nil {
				return err
			}
		}
		return nil
	}
	s.verify = func(ctx context.Context) error { return p.waitGone(ctx, id, running) }
	s.undo = func(ctx context.Context) error {
		// tolerant: a stop that did nothing leaves the servers running.
		for _, c := range starts {
			if err := tolerant(ctx, 5*time.Minute, c[0], c[1:]...); err != nil {
				return err
			}
		}
		return nil
	}
	return s
}

func (p *planner) matching(ctx context.Context, f procFilter) ([]facts.Process, error) {
	if p.o.Daemons == nil {
		return nil, errors.New("no process lister")
	}
	all, err := p.o.Daemons(ctx)
	if err != nil {
		return nil, fmt.Errorf("list the install's processes: %w", err)
	}
	var out []facts.Process
	for _, pr := range all {
		if f(pr) {
			out = append(out, pr)
		}
	}
	return out, nil
}

// waitGone polls until no matching process is left, or fails naming the pids.
func (p *planner) waitGone(ctx context.Context, id string, f procFilter) error {
	timeout := p.o.StopTimeout
	if timeout <= 0 {
		timeout = 60 * time.Second
	}
	deadline := time.Now().Add(timeout)
	for {
		left, err := p.matching(ctx, f)
		if err != nil {
			return err
		}
		if len(left) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			var pids []string
			for _, pr := range left {
				pids = append(pids, fmt.Sprintf("%s pid %d", pr.Daemon, pr.PID))
			}
			return fmt.Errorf("%s: still running after %s: %s", id, timeout, strings.Join(pids, ", "))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}
