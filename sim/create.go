package sim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
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
		l, err := ListenFreePort(sc.Root)
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
// daemon binds it ("address already in use"). And each picked port is
// reserved for the host's lifetime (a file in PortReservations naming its
// root, removed by ReleasePorts when the host is destroyed): a host's
// ports are free while it is stopped, and another host created then must
// not be given them. Both made tests that run many hosts at once flaky.
const (
	portLow  = 20000
	portHigh = 32767
)

// PortReservations is the directory of the reserved ports' files.
var PortReservations = filepath.Join(os.TempDir(), "msguard-sim-ports")

// ListenFreePort listens on a random free loopback port below the
// ephemeral range that no other host has reserved, and reserves it for
// the host of root; the caller closes the listener when it has noted the
// port.
func ListenFreePort(root string) (net.Listener, error) {
	root = filepath.Clean(root)
	var last error
	for range 400 {
		port := portLow + rand.IntN(portHigh-portLow+1)
		if !reservePort(port, root) {
			continue
		}
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err == nil {
			return l, nil
		}
		os.Remove(filepath.Join(PortReservations, strconv.Itoa(port)))
		last = err
	}
	return nil, fmt.Errorf("pick a free loopback port in %d-%d: %v", portLow, portHigh, last)
}

// reservePort creates the reservation file of port for root; a file left
// by a host whose root no longer exists is stale and taken over.
func reservePort(port int, root string) bool {
	if err := os.MkdirAll(PortReservations, 0o1777); err != nil {
		return true // no reservations possible: the bind decides alone
	}
	path := filepath.Join(PortReservations, strconv.Itoa(port))
	for try := 0; try < 2; try++ {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
		if err == nil {
			_, werr := f.WriteString(root)
			f.Close()
			return werr == nil
		}
		owner, rerr := os.ReadFile(path)
		if rerr != nil || len(owner) == 0 {
			return false // being written by another creator
		}
		if _, err := os.Stat(Paths{Root: string(owner)}.StateDir()); err == nil || string(owner) == root {
			return false
		}
		os.Remove(path) // stale: its host is gone
	}
	return false
}

// ReleasePorts removes the port reservations of the host of root.
func ReleasePorts(root string) {
	root = filepath.Clean(root)
	entries, err := os.ReadDir(PortReservations)
	if err != nil {
		return
	}
	for _, e := range entries {
		p := filepath.Join(PortReservations, e.Name())
		if b, err := os.ReadFile(p); err == nil && string(b) == root {
			os.Remove(p)
		}
	}
}
