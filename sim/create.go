package sim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"sort"
	"strconv"
)

// CreateStep is one stage of Create, registered by the package that owns
// it: "tree" (sim/tree), "programs" (sim/procs), "directory"
// (sim/directory), "cluster" (sim/media). binary is the msguard-sim
// executable to copy into the root.
type CreateStep func(ctx context.Context, st *State, binary string, log io.Writer) error

// Teardown undoes what a package set up outside the process table during
// Create or Start (a loop device, a 389-ds instance directory), for Destroy.
type Teardown func(ctx context.Context, st *State, log io.Writer) error

type orderedStep struct {
	order int
	name  string
	step  CreateStep
}

type orderedTeardown struct {
	order int
	name  string
	down  Teardown
}

var (
	createSteps []orderedStep
	teardowns   []orderedTeardown
)

// Create step orders: the tree first, then the programs that live in it,
// then the directory (which links ns-slapd to the programs), then the cluster.
const (
	OrderTree      = 10
	OrderPrograms  = 20
	OrderDirectory = 30
	OrderCluster   = 40
)

// RegisterCreateStep adds a stage to Create; called from init functions.
func RegisterCreateStep(order int, name string, f CreateStep) {
	createSteps = append(createSteps, orderedStep{order, name, f})
	sort.SliceStable(createSteps, func(i, j int) bool { return createSteps[i].order < createSteps[j].order })
}

// RegisterTeardown adds a cleanup that Destroy runs after the processes
// are stopped, lowest order first; called from init functions.
func RegisterTeardown(order int, name string, f Teardown) {
	teardowns = append(teardowns, orderedTeardown{order, name, f})
	sort.SliceStable(teardowns, func(i, j int) bool { return teardowns[i].order < teardowns[j].order })
}

// RunTeardowns runs every registered teardown and joins their errors.
func RunTeardowns(ctx context.Context, st *State, log io.Writer) error {
	var errs []error
	for _, t := range teardowns {
		if err := t.down(ctx, st, log); err != nil {
			errs = append(errs, fmt.Errorf("teardown %s: %w", t.name, err))
		}
	}
	return errors.Join(errs...)
}

// Create builds a simulated host from a scenario by running every
// registered CreateStep in order. Nothing is started.
func Create(ctx context.Context, sc Scenario, binary string, log io.Writer) (*State, error) {
	sc.Defaults()
	if err := sc.Validate(); err != nil {
		return nil, err
	}
	if entries, err := os.ReadDir(sc.Root); err == nil && len(entries) > 0 {
		return nil, fmt.Errorf("server root %s exists and is not empty", sc.Root)
	}
	if len(createSteps) == 0 {
		return nil, errors.New("no create steps registered: import sim/all")
	}
	if err := pickPorts(&sc); err != nil {
		return nil, err
	}
	st := &State{
		Scenario:   sc,
		MsgVersion: sc.MsgVersion,
		DSVersion:  sc.DSVersion,
		WebServer:  sc.WebServer,
		DA:         sc.DA,
	}
	if err := os.MkdirAll(st.Paths().StateDir(), 0o755); err != nil {
		return nil, err
	}
	if err := st.Save(); err != nil {
		return nil, err
	}
	for _, s := range createSteps {
		if err := s.step(ctx, st, binary, log); err != nil {
			return st, fmt.Errorf("create %s: %w", s.name, err)
		}
		if err := st.Save(); err != nil {
			return st, err
		}
	}
	return st, nil
}

// pickPorts gives every zero port a free loopback port.
func pickPorts(sc *Scenario) error {
	ports := []*int{&sc.Ports.LDAP, &sc.Ports.SMTP, &sc.Ports.IMAP, &sc.Ports.POP,
		&sc.Ports.HTTP, &sc.Ports.Admin}
	if len(sc.DSInstances) > 1 {
		ports = append(ports, &sc.Ports.LDAPConfig)
	}
	if sc.WebServer != "" {
		ports = append(ports, &sc.Ports.WebServer, &sc.Ports.WebAdmin)
	}
	var held []net.Listener
	defer func() {
		for _, l := range held {
			l.Close()
		}
	}()
	for _, p := range ports {
		if *p != 0 {
			continue
		}
		// Keep each listener open until all are picked so no two ports repeat.
		l, err := ListenFreePort()
		if err != nil {
			return err
		}
		held = append(held, l)
		*p = l.Addr().(*net.TCPAddr).Port
	}
	return nil
}

// Loopback ports are picked below the kernel's ephemeral range (32768 and
// up on Linux): a port taken from that range when the host is created
// can be the local port of some outgoing connection by the time the
// daemon binds it ("address already in use"), which made tests that run
// many hosts at once flaky.
const (
	portLow  = 20000
	portHigh = 32767
)

// ListenFreePort listens on a random free loopback port below the
// ephemeral range; the caller closes the listener when it has noted the
// port.
func ListenFreePort() (net.Listener, error) {
	var last error
	for range 200 {
		port := portLow + rand.IntN(portHigh-portLow+1)
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err == nil {
			return l, nil
		}
		last = err
	}
	return nil, fmt.Errorf("pick a free loopback port in %d-%d: %w", portLow, portHigh, last)
}
