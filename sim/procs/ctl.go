package procs

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/msguard/msguard/sim"
	"github.com/msguard/msguard/sim/tree"
)

func init() {
	sim.RegisterCtl("start-msg", ctlStartMsg)
	sim.RegisterCtl("stop-msg", ctlStopMsg)
	sim.RegisterCtl("imsimta", ctlImsimta)
	sim.RegisterCtl("configutil", ctlConfigutil)
	sim.RegisterCtl("start-admin", ctlStartAdmin)
	sim.RegisterCtl("stop-admin", ctlStopAdmin)
	sim.RegisterCtl("https-start", ctlHTTPSStart)
	sim.RegisterCtl("https-stop", ctlHTTPSStop)
}

// Timeouts of starting (until the port answers) and stopping (until the
// process has exited).
const (
	startTimeout = 10 * time.Second
	stopTimeout  = 10 * time.Second
)

// startSpec is one daemon to start detached.
type startSpec struct {
	name  string // pid file and log base name
	exe   string // absolute path: /proc/<pid>/exe is under the root
	args  []string
	port  int    // wait until it answers (0: no port)
	child string // wait for this child's pid file too
}

// startDaemon starts a daemon in its own session with stdin on /dev/null
// and output appended to RunDir/<name>.log, and waits until its pid file
// names it and its port answers.
func startDaemon(p sim.Paths, s startSpec) (int, error) {
	if err := os.MkdirAll(p.RunDir(), 0o755); err != nil {
		return 0, fmt.Errorf("start %s: %w", s.name, err)
	}
	logPath := filepath.Join(p.RunDir(), s.name+".log")
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return 0, fmt.Errorf("start %s: %w", s.name, err)
	}
	defer logf.Close()
	null, err := os.Open(os.DevNull)
	if err != nil {
		return 0, fmt.Errorf("start %s: %w", s.name, err)
	}
	defer null.Close()
	cmd := exec.Command(s.exe, s.args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = null, logf, logf
	cmd.Dir = p.RunDir()
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("start %s: %w", s.name, err)
	}
	pid := cmd.Process.Pid
	exit := make(chan error, 1)
	go func() { exit <- cmd.Wait() }()
	deadline := time.Now().Add(startTimeout)
	for {
		select {
		case err := <-exit:
			return 0, fmt.Errorf("start %s: exited (%v): %s", s.name, err, logTail(logPath))
		case <-time.After(50 * time.Millisecond):
		}
		if ready(p, s, pid) {
			return pid, nil
		}
		if time.Now().After(deadline) {
			_ = signalAndWait(s.name, []int{pid}, syscall.SIGKILL, time.Second)
			return 0, fmt.Errorf("start %s: pid %d not ready after %s: %s", s.name, pid, startTimeout, logTail(logPath))
		}
	}
}

// ready reports whether a started daemon has written its pid file, its
// child's too, and answers on its port.
func ready(p sim.Paths, s startSpec, pid int) bool {
	if readPidFile(pidFile(p, s.name)) != pid {
		return false
	}
	if s.child != "" {
		cp := readPidFile(pidFile(p, s.child))
		if cp == 0 || exited(cp) || ppidOf(cp) != pid {
			return false
		}
	}
	if s.port > 0 {
		c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)), time.Second)
		if err != nil {
			return false
		}
		c.Close()
	}
	return true
}

// ppidOf is the parent pid of pid (0 when unknown).
func ppidOf(pid int) int {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 2 {
		return 0
	}
	n, _ := strconv.Atoi(f[1])
	return n
}

// logTail is the last lines of a daemon log, for error messages.
func logTail(path string) string {
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > 5 {
		lines = lines[len(lines)-5:]
	}
	return fmt.Sprintf("log %s: %s", path, strings.Join(lines, " | "))
}

// running lists the live processes of the named messaging daemons of this
// install, in the order given (one scan of the process table).
func running(p sim.Paths, daemons []string) ([]proc, error) {
	all, err := scanProcs()
	if err != nil {
		return nil, err
	}
	var out []proc
	for _, d := range daemons {
		exe := canon(filepath.Join(p.MsgLib(), d))
		for _, pr := range all {
			if pr.exe == exe {
				out = append(out, pr)
			}
		}
	}
	return out, nil
}

// MsgRunning returns the pids of the install's messaging daemons that run
// (MsgDaemons, read from the process table): the check start-msg makes
// before it starts anything.
func MsgRunning(p sim.Paths) ([]int, error) {
	ps, err := running(p, MsgDaemons)
	if err != nil {
		return nil, err
	}
	pids := make([]int, len(ps))
	for i, pr := range ps {
		pids[i] = pr.pid
	}
	return pids, nil
}

// describe is "name (pid N), ..." for messages.
func describe(ps []proc) string {
	var parts []string
	for _, p := range ps {
		parts = append(parts, fmt.Sprintf("%s (pid %d)", p.daemon(), p.pid))
	}
	return strings.Join(parts, ", ")
}

// stopProcs sends SIGTERM to ps and waits until they have exited.
func stopProcs(what string, ps []proc, out func(proc)) error {
	var pids []int
	for _, p := range ps {
		if out != nil {
			out(p)
		}
		pids = append(pids, p.pid)
	}
	return signalAndWait(what, pids, syscall.SIGTERM, stopTimeout)
}

// msgSpec is how start-msg and imsimta start a messaging daemon.
func msgSpec(st *sim.State, d string) startSpec {
	s := startSpec{name: d, exe: filepath.Join(st.Paths().MsgLib(), d), port: msgPort(st, d)}
	if d == "dispatcher" {
		s.child = "tcp_smtp_server"
	}
	return s
}

// startMsgDaemons starts daemons in order; on failure it stops those it
// started.
func startMsgDaemons(st *sim.State, daemons []string, stdio sim.Stdio) error {
	p := st.Paths()
	var started []proc
	for _, d := range daemons {
		pid, err := startDaemon(p, msgSpec(st, d))
		if err != nil {
			if serr := stopProcs("messaging server", started, nil); serr != nil {
				err = errors.Join(err, serr)
			}
			return err
		}
		started = append(started, proc{pid: pid, exe: d})
		fmt.Fprintf(stdio.Out, "Starting %s .... %d\n", serverLabel(d), pid)
		if d == "dispatcher" {
			fmt.Fprintf(stdio.Out, "Starting tcp_smtp_server .... %d\n", readPidFile(pidFile(p, "tcp_smtp_server")))
		}
	}
	return nil
}

// serverLabel is how start-msg and stop-msg name a daemon.
func serverLabel(d string) string {
	if d == "tcp_smtp_server" {
		return d
	}
	return d + " server"
}

// HAStartRefusal is what start-msg prints, starting nothing and exiting 0,
// when it runs without the "ha" argument on a host under cluster control
// (Scenario.HA other than "none"): a silent fault that only the process
// table shows.
const HAStartRefusal = "Messaging Server is configured for high availability: start it with start-msg ha or through the cluster"

// haHost reports whether the host's Messaging Server is under cluster control.
func haHost(st *sim.State) bool { return st.Scenario.HA != "" && st.Scenario.HA != "none" }

// haArg accepts an optional "ha" argument.
func haArg(verb string, args []string) (bool, error) {
	switch {
	case len(args) == 0:
		return false, nil
	case len(args) == 1 && args[0] == "ha":
		return true, nil
	}
	return false, fmt.Errorf("%s: usage: %s [ha]", verb, verb)
}

// startMsgOrder is the order start-msg starts the daemons in
// (tcp_smtp_server comes with the dispatcher).
var startMsgOrder = []string{"job_controller", "dispatcher", "stored", "imapd", "popd", "mshttpd", "enpd"}

// ctlStartMsg is INST/start-msg [ha]: start every messaging daemon,
// refusing when any already runs. On an HA host (Scenario.HA not "none")
// it starts nothing without "ha": it prints HAStartRefusal and exits 0, as
// the real script does. It holds RunDir/start-msg.lock while it checks and
// starts, so two start-msg (an operator's and the cluster monitor's) never
// both start the daemons.
func ctlStartMsg(_ context.Context, st *sim.State, args []string, stdio sim.Stdio) error {
	ha, err := haArg("start-msg", args)
	if err != nil {
		return err
	}
	if !ha && haHost(st) {
		fmt.Fprintln(stdio.Out, HAStartRefusal)
		return nil
	}
	unlock, err := lockFile(filepath.Join(st.Paths().RunDir(), "start-msg.lock"))
	if err != nil {
		return fmt.Errorf("start-msg: %w", err)
	}
	defer unlock()
	ps, err := running(st.Paths(), MsgDaemons)
	if err != nil {
		return err
	}
	if len(ps) > 0 {
		return fmt.Errorf("start-msg: messaging server already running: %s", describe(ps))
	}
	if ha {
		fmt.Fprintln(stdio.Out, "Starting Messaging Server in high availability mode")
	}
	return startMsgDaemons(st, startMsgOrder, stdio)
}

// ctlStopMsg is INST/stop-msg [ha]: stop every messaging daemon of the
// install (SIGTERM, then wait).
func ctlStopMsg(_ context.Context, st *sim.State, args []string, stdio sim.Stdio) error {
	if _, err := haArg("stop-msg", args); err != nil {
		return err
	}
	order := slices.Clone(MsgDaemons)
	slices.Reverse(order)
	ps, err := running(st.Paths(), order)
	if err != nil {
		return err
	}
	if len(ps) == 0 {
		fmt.Fprintln(stdio.Out, "Messaging Server is not running")
		return nil
	}
	return stopProcs("messaging server", ps, func(p proc) {
		fmt.Fprintf(stdio.Out, "Stopping %s .... %d\n", serverLabel(p.daemon()), p.pid)
	})
}

// mtaComponents maps an imsimta start/stop component to its daemons.
func mtaComponents(verb string, args []string) ([]string, error) {
	if len(args) == 0 {
		return []string{"job_controller", "dispatcher", "tcp_smtp_server"}, nil
	}
	if len(args) == 1 {
		switch args[0] {
		case "dispatcher":
			return []string{"dispatcher", "tcp_smtp_server"}, nil
		case "job_controller":
			return []string{"job_controller"}, nil
		}
	}
	return nil, fmt.Errorf("imsimta %s: usage: imsimta %s [dispatcher|job_controller]", verb, verb)
}

// ctlImsimta is INST/imsimta: version, start, stop and qm directory.
func ctlImsimta(_ context.Context, st *sim.State, args []string, stdio sim.Stdio) error {
	if len(args) == 0 {
		return errors.New("imsimta: usage: imsimta version|start|stop|qm directory")
	}
	p := st.Paths()
	switch args[0] {
	case "version":
		return imsimtaVersion(st, stdio)
	case "start":
		comps, err := mtaComponents("start", args[1:])
		if err != nil {
			return err
		}
		var todo []string
		for _, d := range comps {
			if d == "tcp_smtp_server" {
				continue
			}
			ps, err := running(p, []string{d})
			if err != nil {
				return err
			}
			if len(ps) > 0 {
				fmt.Fprintf(stdio.Out, "%s is already running: %s\n", d, describe(ps))
				continue
			}
			todo = append(todo, d)
		}
		return startMsgDaemons(st, todo, stdio)
	case "stop":
		comps, err := mtaComponents("stop", args[1:])
		if err != nil {
			return err
		}
		ps, err := running(p, comps)
		if err != nil {
			return err
		}
		if len(ps) == 0 {
			fmt.Fprintf(stdio.Out, "%s not running\n", strings.Join(comps, ", "))
			return nil
		}
		return stopProcs("mta", ps, func(p proc) {
			fmt.Fprintf(stdio.Out, "Stopping %s .... %d\n", p.daemon(), p.pid)
		})
	case "qm":
		if len(args) != 2 || !strings.EqualFold(args[1], "directory") {
			return errors.New("imsimta qm: only the non-interactive form `imsimta qm directory` is available")
		}
		return queueDirectory(p.Queue(), stdio.Out)
	}
	return fmt.Errorf("imsimta: unknown command %q", args[0])
}

// imsimtaVersion prints the banner, the library line and the system line.
func imsimtaVersion(st *sim.State, stdio sim.Stdio) error {
	banner := sim.MsgBanner(st.MsgVersion)
	if banner == "" {
		return fmt.Errorf("imsimta version: unknown messaging version %q", st.MsgVersion)
	}
	built := banner[strings.LastIndex(banner, "("):]
	fmt.Fprintln(stdio.Out, banner)
	fmt.Fprintf(stdio.Out, "libimta.so %s %s\n", sim.MsgBaseVersion(st.MsgVersion), built)
	var u syscall.Utsname
	if err := syscall.Uname(&u); err == nil {
		fmt.Fprintf(stdio.Out, "%s %s %s %s %s\n", utsString(u.Sysname[:]), st.Scenario.Host,
			utsString(u.Release[:]), utsString(u.Version[:]), utsString(u.Machine[:]))
	}
	return nil
}

func utsString(b []int8) string {
	var s []byte
	for _, c := range b {
		if c == 0 {
			break
		}
		s = append(s, byte(c))
	}
	return string(s)
}

// ctlStartAdmin is ROOT/start-admin.
func ctlStartAdmin(_ context.Context, st *sim.State, _ []string, stdio sim.Stdio) error {
	p := st.Paths()
	return startHttpd(st, "Administration Server", p.AdminNsHttpd(), adminConfigDir(p), "admin-serv", adminPort(st), stdio)
}

// ctlStopAdmin is ROOT/stop-admin.
func ctlStopAdmin(_ context.Context, st *sim.State, _ []string, stdio sim.Stdio) error {
	p := st.Paths()
	return stopHttpd("Administration Server", p.AdminNsHttpd(), adminConfigDir(p), stdio)
}

// webName checks the https-start/https-stop instance argument.
func webName(verb string, st *sim.State, args []string) (string, error) {
	if len(args) != 1 || args[0] == "" || strings.ContainsRune(args[0], '/') {
		return "", fmt.Errorf("%s: usage: %s NAME (for WSROOT/https-NAME)", verb, verb)
	}
	if st.WebServer == "" {
		return "", fmt.Errorf("%s %s: no web server is installed", verb, args[0])
	}
	if _, err := os.Stat(webInstDir(st.Paths(), args[0])); err != nil {
		return "", fmt.Errorf("%s %s: %w", verb, args[0], err)
	}
	return args[0], nil
}

// ctlHTTPSStart is WSROOT/https-NAME/start.
func ctlHTTPSStart(_ context.Context, st *sim.State, args []string, stdio sim.Stdio) error {
	name, err := webName("https-start", st, args)
	if err != nil {
		return err
	}
	p := st.Paths()
	return startHttpd(st, "web server https-"+name, p.NsHttpd(), filepath.Join(webInstDir(p, name), "config"),
		"https-"+name, webPort(st, name), stdio)
}

// ctlHTTPSStop is WSROOT/https-NAME/stop.
func ctlHTTPSStop(_ context.Context, st *sim.State, args []string, stdio sim.Stdio) error {
	name, err := webName("https-stop", st, args)
	if err != nil {
		return err
	}
	p := st.Paths()
	return stopHttpd("web server https-"+name, p.NsHttpd(), filepath.Join(webInstDir(p, name), "config"), stdio)
}

// startHttpd starts `ns-httpd -d configDir -r ROOT`, refusing when that
// instance already runs.
func startHttpd(st *sim.State, what, exe, configDir, inst string, port int, stdio sim.Stdio) error {
	ps, err := findByExe(exe, configDir)
	if err != nil {
		return err
	}
	if len(ps) > 0 {
		return fmt.Errorf("start %s: already running: %s", what, describe(ps))
	}
	pid, err := startDaemon(st.Paths(), startSpec{name: "ns-httpd-" + inst, exe: exe,
		args: []string{"-d", configDir, "-r", st.Scenario.Root}, port: port})
	if err != nil {
		return fmt.Errorf("start %s: %w", what, err)
	}
	fmt.Fprintf(stdio.Out, "startup: %s started successfully (pid %d, port %d)\n", what, pid, port)
	return nil
}

// stopHttpd stops the ns-httpd processes of one instance.
func stopHttpd(what, exe, configDir string, stdio sim.Stdio) error {
	ps, err := findByExe(exe, configDir)
	if err != nil {
		return err
	}
	if len(ps) == 0 {
		fmt.Fprintf(stdio.Out, "%s is not running\n", what)
		return nil
	}
	if err := stopProcs(what, ps, nil); err != nil {
		return err
	}
	fmt.Fprintf(stdio.Out, "%s stopped (%s)\n", what, describe(ps))
	return nil
}

// ctlConfigutil is INST/configutil: `-o KEY` prints the value of KEY,
// `-o KEY -v VALUE` sets it (msg.conf or local.conf). Like the real tool it
// changes the files only: the daemons read them when they start.
func ctlConfigutil(_ context.Context, st *sim.State, args []string, stdio sim.Stdio) error {
	const usage = "configutil: usage: configutil -o KEY [-v VALUE]"
	var key, value string
	set := false
	for i := 0; i < len(args); i++ {
		if i+1 >= len(args) {
			return errors.New(usage)
		}
		switch args[i] {
		case "-o":
			key = args[i+1]
		case "-v":
			value, set = args[i+1], true
		default:
			return errors.New(usage)
		}
		i++
	}
	if key == "" {
		return errors.New(usage)
	}
	p := st.Paths()
	if set {
		return tree.SetConfigValue(p, key, value)
	}
	// Read as the daemons read it (parseMsgConf): local.conf over msg.conf.
	for _, path := range []string{tree.LocalConf(p), tree.MsgConf(p)} {
		lines, err := readLines(path)
		if err != nil {
			return err
		}
		if v, ok := parseMsgConf(lines)[strings.ToLower(key)]; ok {
			fmt.Fprintln(stdio.Out, v)
			return nil
		}
	}
	return fmt.Errorf("configutil: %s is not set", key)
}
