package procs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/msguard/msguard/sim"
	"github.com/msguard/msguard/sim/tree"
)

// listenFDEnv names the environment variable by which the dispatcher tells
// tcp_smtp_server that its SMTP listener is file descriptor 3.
const listenFDEnv = "MSGUARD_SIM_LISTEN_FD"

// maxMessageBytes is the largest message the SMTP server accepts.
const maxMessageBytes = 10 << 20

// smtpGreeting is the dispatcher's SMTP banner (layout.md).
func smtpGreeting(st *sim.State) string {
	return "220 " + st.Scenario.Host + " -- Server ESMTP (" + sim.MsgBanner(st.MsgVersion) + ")"
}

// inheritedListener returns the listener the dispatcher passed as fd 3, or
// nil when tcp_smtp_server was started without one.
func inheritedListener() (net.Listener, error) {
	if os.Getenv(listenFDEnv) != "3" {
		return nil, nil
	}
	f := os.NewFile(3, "smtp-listener")
	defer f.Close()
	ln, err := net.FileListener(f)
	if err != nil {
		return nil, fmt.Errorf("listener from the dispatcher: %w", err)
	}
	return ln, nil
}

// serveSMTP serves SMTP on ln with go-smtp until ctx ends: EHLO/HELO,
// MAIL, RCPT, DATA, RSET, NOOP, QUIT (no STARTTLS: the simulated install
// has no certificate). Recipients in the local domains that the directory
// knows are accepted and each message is enqueued as a queue file of the
// ims-ms channel (tree.Enqueue) for the job controller to deliver; other
// recipients are refused as iPlanet refuses relaying.
func serveSMTP(ctx context.Context, st *sim.State, ln net.Listener, stderr io.Writer) error {
	be := &smtpBackend{st: st, dir: userDirOf(st), stderr: stderr}
	s := smtp.NewServer(be)
	s.Domain = st.Scenario.Host
	s.MaxMessageBytes = maxMessageBytes
	s.MaxRecipients = 100
	s.ReadTimeout, s.WriteTimeout = idleTimeout, time.Minute
	s.EnableDSN = true
	s.ErrorLog = stderrLogger{w: stderr, name: "tcp_smtp_server"}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = s.Shutdown(sctx)
	}()
	err := s.Serve(greetingListener{Listener: ln, greeting: smtpGreeting(st)})
	if ctx.Err() != nil || errors.Is(err, smtp.ErrServerClosed) || errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

type smtpBackend struct {
	st     *sim.State
	dir    userDir
	stderr io.Writer
}

func (b *smtpBackend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	return &smtpSession{be: b}, nil
}

// smtpSession is one SMTP transaction's envelope.
type smtpSession struct {
	be    *smtpBackend
	from  string
	rcpts []tree.Recipient
}

func (s *smtpSession) Reset()        { s.from, s.rcpts = "", nil }
func (s *smtpSession) Logout() error { return nil }

func (s *smtpSession) Mail(from string, _ *smtp.MailOptions) error {
	s.from, s.rcpts = from, nil
	return nil
}

// relayDenied is iPlanet's refusal of a recipient outside the local domains.
func relayDenied(to string) *smtp.SMTPError {
	return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "Relaying not allowed: " + to}
}

func (s *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	_, domain, ok := strings.Cut(to, "@")
	domain = strings.ToLower(domain)
	if !ok || domain == "" {
		return &smtp.SMTPError{Code: 553, EnhancedCode: smtp.EnhancedCode{5, 1, 3}, Message: "Invalid address: " + to}
	}
	fail := liveFail(s.be.st)
	if !slices.Contains(localDomains(s.be.st), domain) || slices.ContainsFunc(fail.SMTPRelayDenied, func(d string) bool { return strings.EqualFold(d, domain) }) {
		return relayDenied(to)
	}
	ctx, cancel := context.WithTimeout(context.Background(), userLookupTimeout)
	defer cancel()
	local, _, _ := strings.Cut(to, "@")
	uid, err := s.be.dir.resolveRecipient(ctx, local+"@"+tree.DefDomain) // imta.cnf: the host's domain rewrites to the default one
	switch {
	case errors.Is(err, errNoSuchUser):
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "unknown or illegal alias: " + to}
	case err != nil:
		fmt.Fprintf(s.be.stderr, "%s tcp_smtp_server: look up %s: %v\n", time.Now().Format(time.RFC3339), to, err)
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 4, 3}, Message: "Directory lookup failed, try again later: " + to}
	}
	s.rcpts = append(s.rcpts, tree.Recipient{Orig: to, Active: uid + "@" + tree.StoreDaemonHost})
	return nil
}

func (s *smtpSession) Data(r io.Reader) error {
	body, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if len(s.rcpts) == 0 {
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 5, 1}, Message: "No valid recipients"}
	}
	st := s.be.st
	now := time.Now()
	received := "Received: from localhost ([127.0.0.1])\n by " + st.Scenario.Host + " (" + sim.MsgBanner(st.MsgVersion) +
		")\n with ESMTP; " + now.Format(time.RFC1123Z) + "\n"
	env := tree.Envelope{Channel: tree.StoreChannel, From: s.from, Recipients: s.rcpts}
	rel, err := tree.Enqueue(st.Paths(), st.Scenario.Queue.Subdirs, env, append([]byte(received), body...))
	if err != nil {
		fmt.Fprintf(s.be.stderr, "%s tcp_smtp_server: %v\n", now.Format(time.RFC3339), err)
		return &smtp.SMTPError{Code: 452, EnhancedCode: smtp.EnhancedCode{4, 3, 1}, Message: "Error writing message to the queue"}
	}
	fmt.Fprintf(s.be.stderr, "%s tcp_smtp_server: queued %s (%d bytes, %d recipients)\n", now.Format(time.RFC3339), rel, len(body), len(s.rcpts))
	s.Reset()
	return nil
}

// stderrLogger adapts w to the Printf/Println loggers of go-smtp and go-imap.
type stderrLogger struct {
	w    io.Writer
	name string
}

func (l stderrLogger) Printf(format string, v ...any) {
	fmt.Fprintf(l.w, "%s %s: %s\n", time.Now().Format(time.RFC3339), l.name, strings.TrimRight(fmt.Sprintf(format, v...), "\n"))
}

func (l stderrLogger) Println(v ...any) {
	fmt.Fprintf(l.w, "%s %s: %s\n", time.Now().Format(time.RFC3339), l.name, strings.TrimRight(fmt.Sprintln(v...), "\n"))
}

// dispatch is the dispatcher's work: it holds the SMTP port and keeps a
// tcp_smtp_server child running that serves the connections on it (the
// listener passed as file descriptor 3), as iPlanet's dispatcher hands
// its port to the service processes.
func dispatch(st *sim.State, stderr io.Writer) func(context.Context, net.Listener) error {
	return func(ctx context.Context, ln net.Listener) error {
		tl, ok := ln.(*net.TCPListener)
		if !ok {
			return fmt.Errorf("dispatcher: no TCP listener")
		}
		f, err := tl.File()
		if err != nil {
			return fmt.Errorf("dispatcher: pass the listener on: %w", err)
		}
		defer f.Close()
		done := superviseChild(ctx, filepath.Join(st.Paths().MsgLib(), "tcp_smtp_server"), stderr, f)
		<-ctx.Done()
		<-done
		return nil
	}
}

// tcpSMTPServer is tcp_smtp_server's work: SMTP on the listener the
// dispatcher passed (serveSMTP) until told to stop or the dispatcher goes
// away. Started without one, it only waits for its parent.
func tcpSMTPServer(st *sim.State, stderr io.Writer) func(context.Context, net.Listener) error {
	return func(ctx context.Context, _ net.Listener) error {
		ln, err := inheritedListener()
		if err != nil {
			return err
		}
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		go func() { _ = waitParent(ctx); cancel() }()
		if ln == nil {
			<-ctx.Done()
			return nil
		}
		defer ln.Close()
		return serveSMTP(ctx, st, ln, stderr)
	}
}
