package procs

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/msguard/msguard/sim"
	"github.com/msguard/msguard/sim/tree"
)

func init() {
	for _, d := range MsgDaemons {
		sim.RegisterProgram(d, msgDaemon(d))
	}
	sim.RegisterProgram("ns-httpd", nsHttpd)
}

// idleTimeout closes a client connection that sends nothing.
const idleTimeout = 5 * time.Minute

// daemonState finds the state of the install a daemon belongs to: the -r
// root when given, else four levels above its own executable
// (ROOT/bin/msg/lib/<daemon>, ROOT/bin/https/bin/ns-httpd), following a
// separate Web Server root's marker file to the server root.
func daemonState(root string) (*sim.State, error) {
	if root != "" {
		return sim.LoadState(root)
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find own executable: %w", err)
	}
	cand := filepath.Dir(filepath.Dir(filepath.Dir(filepath.Dir(exe))))
	if _, err := os.Stat(sim.Paths{Root: cand}.StateFile()); err != nil {
		if b, merr := os.ReadFile(filepath.Join(cand, wsRootMarker)); merr == nil {
			cand = strings.TrimSpace(string(b))
		}
	}
	return sim.LoadState(cand)
}

// pidFile is RunDir/<name>.pid.
func pidFile(p sim.Paths, name string) string { return filepath.Join(p.RunDir(), name+".pid") }

// daemon is the running part shared by every simulated daemon: it listens
// (when port > 0), writes its pid file, runs serve until SIGTERM and
// removes the pid file.
func daemon(ctx context.Context, st *sim.State, pidName string, port int, stderr io.Writer,
	serve func(ctx context.Context, ln net.Listener) error) int {
	signal.Ignore(syscall.SIGHUP)
	var ln net.Listener
	if port > 0 {
		var err error
		ln, err = net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			fmt.Fprintf(stderr, "%s: listen: %v\n", pidName, err)
			return 1
		}
		defer ln.Close()
	}
	p := st.Paths()
	pf := pidFile(p, pidName)
	if err := os.MkdirAll(p.RunDir(), 0o755); err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", pidName, err)
		return 1
	}
	if err := sim.WriteFileAtomic(pf, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
		fmt.Fprintf(stderr, "%s: write pid file: %v\n", pidName, err)
		return 1
	}
	defer func() {
		if readPidFile(pf) == os.Getpid() {
			os.Remove(pf)
		}
	}()
	where := ""
	if ln != nil {
		where = " on " + ln.Addr().String()
	}
	fmt.Fprintf(stderr, "%s %s: pid %d started%s\n", time.Now().Format(time.RFC3339), pidName, os.Getpid(), where)
	err := serve(ctx, ln)
	if err != nil && ctx.Err() == nil {
		fmt.Fprintf(stderr, "%s: %v\n", pidName, err)
		return 1
	}
	fmt.Fprintf(stderr, "%s %s: pid %d exiting\n", time.Now().Format(time.RFC3339), pidName, os.Getpid())
	return 0
}

// msgDaemon is the program of messaging daemon name.
func msgDaemon(name string) sim.ProgramFunc {
	return func(ctx context.Context, args []string, stdio sim.Stdio) int {
		fs := flag.NewFlagSet(name, flag.ContinueOnError)
		fs.SetOutput(stdio.Err)
		root := fs.String("r", "", "server root (default: from the executable's path)")
		if err := fs.Parse(args); err != nil {
			return 2
		}
		st, err := daemonState(*root)
		if err != nil {
			fmt.Fprintf(stdio.Err, "%s: %v\n", name, err)
			return 1
		}
		banner := sim.MsgBanner(st.MsgVersion)
		port := msgPort(st, name)
		var serve func(context.Context, net.Listener) error
		switch name {
		case "dispatcher":
			serve = dispatch(st, stdio.Err) // SMTP is served by tcp_smtp_server (smtp.go)
		case "imapd":
			serve = func(ctx context.Context, ln net.Listener) error { return serveIMAP(ctx, st, ln, stdio.Err) } // imap.go
		case "popd":
			serve = newPOPServer(st, stdio.Err).serve // pop.go
		case "mshttpd":
			serve = func(ctx context.Context, ln net.Listener) error {
				return serveHTTP(ctx, ln, banner, "Messenger Express")
			}
		case "tcp_smtp_server":
			serve = tcpSMTPServer(st, stdio.Err)
		default:
			serve = func(ctx context.Context, _ net.Listener) error { <-ctx.Done(); return nil }
		}
		if name == "job_controller" && deliversOnStart(st.MsgVersion) && !st.Scenario.Fail.DeliveryStops {
			serve = deliveringInBackground(st.Paths(), stdio.Err, serve)
		}
		if name == "job_controller" {
			serve = deliveringSubmitted(st, stdio.Err, serve) // deliver.go
		}
		if diesAfterStart(st, name) {
			serve = dieAfter(dieDelay, serve)
		}
		return daemon(ctx, st, name, port, stdio.Err, serve)
	}
}

// dieDelay is how long a daemon named by FailSpec.DiesAfterStart serves.
const dieDelay = time.Second

// diesAfterStart tells whether daemon name is to exit soon after it started
// (FailSpec.DiesAfterStart): only on an installed 5.2, so that the 5.1 host
// the scenario builds starts cleanly and the fault shows after the upgrade.
func diesAfterStart(st *sim.State, name string) bool {
	return st.Scenario.Fail.DiesAfterStart == name && sim.MsgBaseVersion(st.MsgVersion) == "5.2"
}

// dieAfter wraps serve so that it stops after d and the daemon exits with
// an error, as a daemon crashing after start-up would.
func dieAfter(d time.Duration, serve func(context.Context, net.Listener) error) func(context.Context, net.Listener) error {
	return func(ctx context.Context, ln net.Listener) error {
		sctx, cancel := context.WithTimeout(ctx, d)
		defer cancel()
		err := serve(sctx, ln)
		if ctx.Err() != nil {
			return err
		}
		return fmt.Errorf("fatal error %d s after start-up: exiting (simulated failure)", int(d/time.Second))
	}
}

// deliversOnStart tells whether the job controller of Messaging Server
// version v delivers the queue once it has started. The simulated 5.0 and
// 5.1 MTAs never deliver the planted backlog, so that the queue a scenario
// plants is still there for the quiescence checks and the backup (what
// they accept over SMTP they do deliver: deliver.go); the upgraded 5.2 MTA
// delivers every message that is not held, as a healthy MTA would after the
// restart (post.queue watches it drain), and audit finds nothing
// undelivered.
func deliversOnStart(v string) bool { return strings.HasPrefix(v, "5.2") }

// deliveringInBackground wraps the job controller's serve: once it is up
// (listening, pid file written: start-msg has it as ready) it delivers the
// queue backlog in the background, streamed (tree.DeliverQueue), as a real
// job controller works its queue after start-up; start-msg does not wait
// for a backlog of any size. The delivery stops when the daemon is told to
// stop, and the daemon exits only once it has stopped, so no message moves
// after stop-msg returns. A failed delivery is logged and leaves the rest
// queued, for post.queue and audit to find.
func deliveringInBackground(p sim.Paths, stderr io.Writer, serve func(context.Context, net.Listener) error) func(context.Context, net.Listener) error {
	return func(ctx context.Context, ln net.Listener) error {
		delivered := make(chan struct{})
		go func() {
			defer close(delivered)
			n, err := tree.DeliverQueue(ctx, p)
			switch {
			case err != nil && ctx.Err() != nil:
				fmt.Fprintf(stderr, "%s job_controller: stopped delivering the queue after %d messages\n", time.Now().Format(time.RFC3339), n)
			case err != nil:
				fmt.Fprintf(stderr, "%s job_controller: deliver the queue: %v (%d messages delivered)\n", time.Now().Format(time.RFC3339), err, n)
			default:
				fmt.Fprintf(stderr, "%s job_controller: delivered %d queued messages (held and temporary files stay)\n", time.Now().Format(time.RFC3339), n)
			}
		}()
		err := serve(ctx, ln)
		<-delivered
		return err
	}
}

// superviseChild keeps a child process of exe running until ctx ends, then
// stops it; the returned channel closes once the child has exited.
// A non-nil listener is passed to the child as file descriptor 3.
func superviseChild(ctx context.Context, exe string, stderr io.Writer, listener *os.File) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			cmd := exec.Command(exe)
			cmd.Stdout, cmd.Stderr = stderr, stderr
			if listener != nil {
				cmd.ExtraFiles = []*os.File{listener}
				cmd.Env = append(os.Environ(), listenFDEnv+"=3")
			}
			if err := cmd.Start(); err != nil {
				fmt.Fprintf(stderr, "dispatcher: start %s: %v\n", filepath.Base(exe), err)
			} else {
				exit := make(chan error, 1)
				go func() { exit <- cmd.Wait() }()
				select {
				case err := <-exit:
					fmt.Fprintf(stderr, "dispatcher: %s exited: %v\n", filepath.Base(exe), err)
				case <-ctx.Done():
					_ = cmd.Process.Signal(syscall.SIGTERM)
					select {
					case <-exit:
					case <-time.After(5 * time.Second):
						_ = cmd.Process.Kill()
						<-exit
					}
					return
				}
			}
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
	}()
	return done
}

// waitParent returns when ctx ends or the parent process goes away.
func waitParent(ctx context.Context) error {
	ppid := os.Getppid()
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			if os.Getppid() != ppid {
				return nil
			}
		}
	}
}

// serveHTTP serves a small HTML page with the given Server header.
func serveHTTP(ctx context.Context, ln net.Listener, server, title string) error {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Server", server)
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, "<html><head><title>%s</title></head><body><h1>%s</h1></body></html>\n", title, title)
	})
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 30 * time.Second, IdleTimeout: idleTimeout}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// nsHttpd is the Administration Server and Web Server daemon:
// `ns-httpd -d ROOT/admin-serv/config -r ROOT` is the Admin Server,
// `ns-httpd -d WSROOT/https-<name>/config -r ROOT` a Web Server instance,
// `ns-httpd -v` prints the version banner.
func nsHttpd(ctx context.Context, args []string, stdio sim.Stdio) int {
	fs := flag.NewFlagSet("ns-httpd", flag.ContinueOnError)
	fs.SetOutput(stdio.Err)
	dir := fs.String("d", "", "configuration directory")
	root := fs.String("r", "", "server root (default: from the executable's path)")
	version := fs.Bool("v", false, "print the version and exit")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	st, err := daemonState(*root)
	if err != nil {
		fmt.Fprintf(stdio.Err, "ns-httpd: %v\n", err)
		return 1
	}
	p := st.Paths()
	inst := ""
	if *dir != "" {
		inst = filepath.Base(filepath.Dir(filepath.Clean(*dir)))
		if inst != "admin-serv" && !strings.HasPrefix(inst, "https-") {
			fmt.Fprintf(stdio.Err, "ns-httpd: %s is neither admin-serv/config nor https-<name>/config\n", *dir)
			return 2
		}
	} else if exe, err := os.Executable(); err == nil && st.WebServer != "" && canon(exe) == canon(p.NsHttpd()) {
		inst = "https-"
	}
	admin := inst == "" || inst == "admin-serv"
	banner := sim.AdminServerBanner
	if !admin {
		banner = sim.WebServerBanners[st.WebServer]
		if banner == "" {
			fmt.Fprintln(stdio.Err, "ns-httpd: no Web Server is installed")
			return 1
		}
	}
	if *version {
		fmt.Fprintln(stdio.Out, banner)
		return 0
	}
	if *dir == "" {
		fmt.Fprintln(stdio.Err, "ns-httpd: -d CONFIGDIR is required")
		return 2
	}
	port, title := adminPort(st), "Netscape Administration Server"
	if !admin {
		port, title = webPort(st, strings.TrimPrefix(inst, "https-")), inst
	}
	return daemon(ctx, st, "ns-httpd-"+inst, port, stdio.Err, func(ctx context.Context, ln net.Listener) error {
		return serveHTTP(ctx, ln, banner, title)
	})
}
