package installer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

// Answer replies to one known installer prompt.
type Answer struct {
	// Name names the answer in errors ("admin password").
	Name string
	// Match recognises the prompt. It is matched against the prompt line
	// without its trailing "[<default>]: " or ": " (and without surrounding
	// blanks), so "Install location [/usr/iplanet/server5]: " is matched as
	// "Install location"; anchor it as needed.
	Match *regexp.Regexp
	// Reply is the line sent to the installer; "" takes its default.
	Reply string
	// Secret replies are written to the transcript as "********", and every
	// occurrence of them in the installer's output is masked too.
	Secret bool
	// Optional answers may not be asked. Drive fails when an installer exits
	// 0 without having asked a prompt whose answer is not Optional.
	Optional bool
}

// Dialogue is the conversation Drive holds with one installer.
type Dialogue struct {
	// Program names the installer in errors ("setup -k"); "" is the base
	// name of the command.
	Program string
	// Answers are the prompts the installer may ask, in any order.
	Answers []Answer
	// PromptTimeout stops the installer when it printed nothing and asked
	// nothing answerable for this long; 0 is DefaultPromptTimeout.
	PromptTimeout time.Duration
	// UsePTY runs the installer on a pseudo-terminal instead of pipes.
	UsePTY bool
}

// DefaultPromptTimeout is the PromptTimeout of a Dialogue that sets none.
const DefaultPromptTimeout = 10 * time.Minute

const (
	// promptSettle is how long a line that looks like a prompt must stay
	// unanswered by further output before it is taken for a prompt when the
	// installer cannot be seen waiting on its standard input.
	promptSettle = 300 * time.Millisecond
	// dialoguePoll is how often Drive looks at a silent installer.
	dialoguePoll = 20 * time.Millisecond
	// stdinCheckEvery limits the /proc scans for an installer that printed a
	// line not shaped like a prompt and went silent.
	stdinCheckEvery = 250 * time.Millisecond
	// drainGrace is how long Drive still reads output after the installer
	// exited, for children of it that keep the output open.
	drainGrace = time.Second
	// maxAnswerUses bounds how often one Answer is given to a prompt that
	// comes back.
	maxAnswerUses = 4
	// maxPartialLine bounds the unterminated output line kept for prompt
	// recognition (its tail is kept).
	maxPartialLine = 64 << 10
	// secretMask replaces secrets in the transcript and in errors.
	secretMask = "********"
)

// UnknownPromptError is returned by Drive when the installer asked a
// question none of the Answers matches. The question was not answered and
// the installer was killed.
type UnknownPromptError struct {
	Program string
	// Prompt is the prompt line as the installer printed it.
	Prompt string
}

func (e *UnknownPromptError) Error() string {
	return fmt.Sprintf("%s: unknown prompt %q: not answered, installer stopped", e.Program, e.Prompt)
}

// TimeoutError is returned by Drive when the installer printed
// nothing and asked nothing answerable for PromptTimeout; it was killed.
type TimeoutError struct {
	Program string
	// After is the PromptTimeout that ran out.
	After time.Duration
	// Last is the last output line (possibly unterminated), "" if none.
	Last string
}

func (e *TimeoutError) Error() string {
	if e.Last == "" {
		return fmt.Sprintf("%s: no output and no prompt for %s: installer stopped", e.Program, e.After)
	}
	return fmt.Sprintf("%s: no output and no prompt for %s after %q: installer stopped", e.Program, e.After, e.Last)
}

// Error is returned by Drive when the installer exits non-zero.
type Error struct {
	Program string
	// ExitCode is the exit status, -1 when killed by a signal.
	ExitCode int
	// Message is the installer's last "ERROR: ..." line, "" if it printed none.
	Message string
	// Err is the error of exec.Cmd.Wait.
	Err error
}

func (e *Error) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("%s: %v", e.Program, e.Err)
	}
	return fmt.Sprintf("%s: %v: %s", e.Program, e.Err, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// Drive runs cmd and holds its dialogue d, writing to transcript (may be
// nil) everything the installer printed and every answer given, with Secret
// replies shown as "********".
//
// The installer's stdout and stderr are read together; cmd's Stdin, Stdout
// and Stderr must be nil, as Drive connects them to pipes or, with
// d.UsePTY, to a pseudo-terminal whose echo is off (a password prompt does
// not echo either way). The installer runs in its own process group (its
// own session on a PTY) so that stopping it stops its children.
//
// A prompt is the unterminated last output line when it ends in ": " (so
// also "]: ") and either the installer is seen blocked reading its standard
// input (Linux /proc) or no further output came for a short settle time.
// When the installer is seen waiting for input after output of another
// shape, its last line is taken for the prompt. Each prompt is answered from d.Answers in any
// order: the first Answer not used yet whose Match matches; when only used
// ones match, the prompt is one that repeats (say once per instance) and the
// first of them is given again, up to 4 times in all, but never to the very
// prompt it just answered, which the installer thus rejected.
//
// Drive stops the installer, without answering, on a prompt no Answer
// matches (*UnknownPromptError), when nothing happens for d.PromptTimeout
// (*TimeoutError), or when ctx ends. A non-zero exit is an
// *Error carrying the installer's last "ERROR: " line. An
// installer that exits 0 without having asked every Answer that is not
// Optional fails too.
func Drive(ctx context.Context, cmd *exec.Cmd, d Dialogue, transcript io.Writer) error {
	program := d.Program
	if program == "" {
		program = filepath.Base(cmd.Path)
	}
	if err := d.Validate(program); err != nil {
		return err
	}
	if cmd.Stdin != nil || cmd.Stdout != nil || cmd.Stderr != nil {
		return fmt.Errorf("%s: stdin, stdout or stderr already set: drive connects them", program)
	}
	if cmd.Process != nil {
		return fmt.Errorf("%s: already started", program)
	}
	if transcript == nil {
		transcript = io.Discard
	}
	var secrets []string
	for _, a := range d.Answers {
		if a.Secret && a.Reply != "" {
			secrets = append(secrets, a.Reply)
		}
	}
	// The longest first, so a secret inside another does not split it.
	sort.Slice(secrets, func(i, j int) bool { return len(secrets[i]) > len(secrets[j]) })
	s := &driveSession{
		program: program,
		d:       d,
		cmd:     cmd,
		tw:      newSecretRedactor(transcript, secrets),
		timeout: d.PromptTimeout,
		uses:    make([]int, len(d.Answers)),
		last:    -1,
		lineOut: true,
	}
	if s.timeout <= 0 {
		s.timeout = DefaultPromptTimeout
	}
	var err error
	if d.UsePTY {
		s.io, err = startOnPTY(cmd)
	} else {
		s.io, err = startOnPipes(cmd)
	}
	if err != nil {
		return fmt.Errorf("%s: start: %w", program, err)
	}
	defer s.io.close()
	err = s.run(ctx)
	if terr := s.tw.flush(); terr != nil && err == nil {
		err = fmt.Errorf("%s: write transcript: %w", program, terr)
	}
	return err
}

// Validate checks the answers before anything runs (Drive calls it).
func (d Dialogue) Validate(program string) error {
	for i, a := range d.Answers {
		name := a.Name
		if name == "" {
			name = "#" + strconv.Itoa(i+1)
		}
		if a.Match == nil {
			return fmt.Errorf("%s: answer %s: no match", program, name)
		}
		if strings.ContainsAny(a.Reply, "\r\n") {
			return fmt.Errorf("%s: answer %s: reply spans lines", program, name)
		}
	}
	return nil
}

// installerIO is the parent's side of the installer's terminal or pipes.
type installerIO struct {
	out   *os.File    // installer output; pollable, so reads take deadlines
	in    *os.File    // installer input
	stdin os.FileInfo // the installer's standard input (pipe or terminal)
	pgid  int         // the installer's process group
}

func (c *installerIO) close() {
	c.out.Close()
	if c.in != c.out {
		c.in.Close()
	}
}

// ownGroup returns a copy of cmd's SysProcAttr (or a new one) for the
// installer to run in a process group of its own.
func ownGroup(cmd *exec.Cmd) *syscall.SysProcAttr {
	a := &syscall.SysProcAttr{}
	if cmd.SysProcAttr != nil {
		c := *cmd.SysProcAttr
		a = &c
	}
	return a
}

// startOnPipes starts cmd with stdin and stdout+stderr on pipes, as the
// leader of a new process group.
func startOnPipes(cmd *exec.Cmd) (*installerIO, error) {
	outR, outW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("output pipe: %w", err)
	}
	inR, inW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return nil, fmt.Errorf("input pipe: %w", err)
	}
	stdin, err := inR.Stat()
	if err != nil {
		outR.Close()
		outW.Close()
		inR.Close()
		inW.Close()
		return nil, fmt.Errorf("input pipe: %w", err)
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = inR, outW, outW
	attr := ownGroup(cmd)
	attr.Setpgid, attr.Pgid = true, 0
	cmd.SysProcAttr = attr
	err = cmd.Start()
	// The child has its own copies; holding ours would hide its exit.
	outW.Close()
	inR.Close()
	if err != nil {
		outR.Close()
		inW.Close()
		return nil, err
	}
	return &installerIO{out: outR, in: inW, stdin: stdin, pgid: cmd.Process.Pid}, nil
}

// startOnPTY starts cmd as a session leader on a new pseudo-terminal whose
// echo and output newline translation are off: the installer's output then
// reads as through a pipe, and nothing typed, passwords included, comes
// back in it.
func startOnPTY(cmd *exec.Cmd) (*installerIO, error) {
	ptmx, tty, err := pty.Open()
	if err != nil {
		return nil, fmt.Errorf("open pty: %w", err)
	}
	defer ptmx.Close()
	defer tty.Close()
	stdin, err := tty.Stat()
	if err != nil {
		return nil, fmt.Errorf("pty: %w", err)
	}
	fd := int(tty.Fd())
	t, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return nil, fmt.Errorf("pty attributes: %w", err)
	}
	t.Lflag &^= unix.ECHO | unix.ECHONL
	t.Oflag &^= unix.ONLCR
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, t); err != nil {
		return nil, fmt.Errorf("pty attributes: %w", err)
	}
	if err := unix.IoctlSetWinsize(fd, unix.TIOCSWINSZ, &unix.Winsize{Row: 24, Col: 80}); err != nil {
		return nil, fmt.Errorf("pty size: %w", err)
	}
	// pty.Open leaves the master in blocking mode; a non-blocking duplicate
	// goes through the runtime poller and so honours read deadlines.
	mfd, err := unix.FcntlInt(ptmx.Fd(), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("pty master: %w", err)
	}
	if err := unix.SetNonblock(mfd, true); err != nil {
		unix.Close(mfd)
		return nil, fmt.Errorf("pty master: %w", err)
	}
	master := os.NewFile(uintptr(mfd), "/dev/ptmx")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
	attr := ownGroup(cmd)
	attr.Setpgid, attr.Pgid, attr.Foreground = false, 0, false
	attr.Setsid, attr.Setctty, attr.Ctty = true, true, 0
	cmd.SysProcAttr = attr
	if err := cmd.Start(); err != nil {
		master.Close()
		return nil, err
	}
	return &installerIO{out: master, in: master, stdin: stdin, pgid: cmd.Process.Pid}, nil
}

// driveSession is one Drive call: the installer's output so far and the
// answers given.
type driveSession struct {
	program string
	d       Dialogue
	cmd     *exec.Cmd
	io      *installerIO
	tw      *secretRedactor
	timeout time.Duration

	exited   chan error
	done     bool      // exited was received
	partial  []byte    // unterminated output line
	lastLine string    // last non-blank complete line since the last answer
	errLine  string    // last "ERROR: " line
	output   bool      // output came since the last answer
	activity time.Time // last output or answer
	outputAt time.Time // last output
	nextScan time.Time // next /proc look for a non-prompt-shaped question

	uses       []int  // times each Answer was given
	last       int    // Answer given last, -1 before the first
	lastPrompt string // prompt it answered

	lineOut     bool // the transcript is at the start of a line
	afterAnswer bool // an answer was just written to the transcript
}

// run reads the installer's output and answers its prompts until it exits
// or the dialogue fails.
func (s *driveSession) run(ctx context.Context) error {
	s.exited = make(chan error, 1)
	go func() { s.exited <- s.cmd.Wait() }()
	s.activity, s.outputAt = time.Now(), time.Now()
	buf := make([]byte, 32<<10)
	var (
		waitErr error
		doneAt  time.Time
		eof     bool
	)
	for {
		if !s.done {
			select {
			case waitErr = <-s.exited:
				s.done, doneAt = true, time.Now()
			default:
			}
		}
		if s.done && (eof || time.Since(doneAt) > drainGrace) {
			break
		}
		if err := ctx.Err(); err != nil && !s.done {
			s.note(fmt.Sprintf("stopped: %v", err))
			s.kill()
			return fmt.Errorf("%s: %w", s.program, err)
		}
		if eof {
			// Output closed but the installer runs on: just wait for it.
			if !s.done {
				select {
				case waitErr = <-s.exited:
					s.done, doneAt = true, time.Now()
					continue
				case <-time.After(dialoguePoll):
				}
			}
		} else {
			if err := s.io.out.SetReadDeadline(time.Now().Add(dialoguePoll)); err != nil {
				s.kill()
				return fmt.Errorf("%s: read output: %w", s.program, err)
			}
			n, err := s.io.out.Read(buf)
			if n > 0 {
				s.received(buf[:n])
				continue
			}
			if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
				// io.EOF on a pipe, EIO on a PTY whose other side is closed.
				eof = true
			}
		}
		if s.done {
			continue
		}
		if p, ok := s.prompt(); ok {
			if err := s.answer(p); err != nil {
				s.kill()
				return err
			}
			continue
		}
		if time.Since(s.activity) >= s.timeout {
			last := strings.TrimSpace(s.partialText())
			if last == "" {
				last = s.lastLine
			}
			s.note(fmt.Sprintf("no output and no prompt for %s: installer stopped", s.timeout))
			s.kill()
			return &TimeoutError{Program: s.program, After: s.timeout, Last: s.redact(last)}
		}
	}
	if len(s.partial) > 0 {
		s.endLine(s.partialText())
	}
	if waitErr != nil {
		code := -1
		var ee *exec.ExitError
		if errors.As(waitErr, &ee) {
			code = ee.ExitCode()
		}
		return &Error{Program: s.program, ExitCode: code, Message: s.redact(s.errLine), Err: waitErr}
	}
	var missing []string
	for i, a := range s.d.Answers {
		if s.uses[i] == 0 && !a.Optional {
			missing = append(missing, a.Name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%s: finished without asking for %s", s.program, strings.Join(missing, ", "))
	}
	return nil
}

// received takes a chunk of output: into the transcript and the line state.
func (s *driveSession) received(b []byte) {
	now := time.Now()
	s.activity, s.outputAt, s.output = now, now, true
	s.nextScan = now.Add(promptSettle)
	if s.afterAnswer {
		// Through a pipe the installer ends the answered line itself; on a
		// PTY without echo it does not, and the transcript does it.
		if b[0] != '\n' && !bytes.HasPrefix(b, []byte("\r\n")) {
			s.write("\n")
		}
		s.afterAnswer = false
	}
	s.write(string(b))
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			s.partial = append(s.partial, b...)
			if len(s.partial) > maxPartialLine {
				s.partial = append(s.partial[:0], s.partial[len(s.partial)-maxPartialLine:]...)
			}
			return
		}
		s.partial = append(s.partial, b[:i]...)
		s.endLine(s.partialText())
		s.partial = s.partial[:0]
		b = b[i+1:]
	}
}

// endLine records a complete output line.
func (s *driveSession) endLine(l string) {
	t := strings.TrimSpace(l)
	if t == "" {
		return
	}
	s.lastLine = t
	if strings.HasPrefix(t, "ERROR:") {
		s.errLine = t
	}
}

// partialText is the unterminated line as a terminal shows it: after its
// last carriage return.
func (s *driveSession) partialText() string {
	p := strings.TrimRight(string(s.partial), "\r")
	if i := strings.LastIndexByte(p, '\r'); i >= 0 {
		p = p[i+1:]
	}
	return p
}

// prompt reports the question the installer is waiting on, if any.
func (s *driveSession) prompt() (string, bool) {
	quiet := time.Since(s.outputAt)
	if p := s.partialText(); strings.HasSuffix(p, ": ") {
		if quiet >= promptSettle || s.waitingForInput() {
			return p, true
		}
		return "", false
	}
	// Output of another shape: a question only if the installer is seen
	// waiting for input once it has been silent a while.
	if !s.output || quiet < promptSettle || time.Now().Before(s.nextScan) {
		return "", false
	}
	s.nextScan = time.Now().Add(stdinCheckEvery)
	if !s.waitingForInput() {
		return "", false
	}
	if p := strings.TrimSpace(s.partialText()); p != "" {
		return p, true
	}
	if s.lastLine != "" {
		return s.lastLine, true
	}
	return "", false
}

// waitingForInput reports whether a process of the installer's group is
// blocked reading its standard input and no output is left unread, so the
// prompt line is complete.
func (s *driveSession) waitingForInput() bool {
	if !stdinWaitSeen(s.io.pgid, s.io.stdin) {
		return false
	}
	unread := 0
	rc, err := s.io.out.SyscallConn()
	if err != nil {
		return false
	}
	cerr := rc.Control(func(fd uintptr) {
		unread, err = unix.IoctlGetInt(int(fd), unix.TIOCINQ) // FIONREAD on Linux
	})
	return cerr == nil && err == nil && unread == 0
}

// ptyEchoes reports whether the installer's terminal has echo on.
func (s *driveSession) ptyEchoes() bool {
	rc, err := s.io.out.SyscallConn()
	if err != nil {
		return false
	}
	echo := false
	_ = rc.Control(func(fd uintptr) {
		if t, err := unix.IoctlGetTermios(int(fd), unix.TCGETS); err == nil {
			echo = t.Lflag&unix.ECHO != 0
		}
	})
	return echo
}

// answer replies to prompt p from the Answers, or fails without replying.
func (s *driveSession) answer(p string) error {
	text := PromptText(p)
	idx := -1
	for i, a := range s.d.Answers {
		if s.uses[i] == 0 && a.Match.MatchString(text) {
			idx = i
			break
		}
	}
	if idx < 0 {
		for i, a := range s.d.Answers {
			if a.Match.MatchString(text) {
				idx = i
				break
			}
		}
		if idx >= 0 && idx == s.last && p == s.lastPrompt {
			s.note("prompt asked again: the answer was rejected, installer stopped")
			return fmt.Errorf("%s: prompt %q asked again after answer %s: installer rejected it", s.program, s.redact(p), s.d.Answers[idx].Name)
		}
		if idx >= 0 && s.uses[idx] >= maxAnswerUses {
			s.note("prompt asked too often, installer stopped")
			return fmt.Errorf("%s: prompt %q asked %d times: installer stopped", s.program, s.redact(p), s.uses[idx]+1)
		}
	}
	if idx < 0 {
		s.note(fmt.Sprintf("unknown prompt %q: not answered, installer stopped", s.redact(p)))
		return &UnknownPromptError{Program: s.program, Prompt: s.redact(p)}
	}
	a := s.d.Answers[idx]
	if _, err := s.io.in.Write([]byte(a.Reply + "\n")); err != nil {
		// An installer that quit has its exit status judged instead.
		if !errors.Is(err, syscall.EPIPE) && !errors.Is(err, syscall.EIO) {
			return fmt.Errorf("%s: answer %s: %w", s.program, a.Name, err)
		}
	}
	// A terminal that echoes (the installer turned echo on) shows the
	// answer itself, a secret one masked by the redactor.
	if !s.d.UsePTY || !s.ptyEchoes() {
		if a.Secret {
			s.write(secretMask)
		} else {
			s.write(a.Reply)
		}
		s.afterAnswer = true
	}
	s.uses[idx]++
	s.last, s.lastPrompt = idx, p
	s.partial, s.lastLine, s.output = s.partial[:0], "", false
	s.activity = time.Now()
	return nil
}

// write sends text to the transcript, remembering where its line stands.
func (s *driveSession) write(t string) {
	if t == "" {
		return
	}
	s.tw.Write([]byte(t))
	s.lineOut = strings.HasSuffix(t, "\n")
}

// note writes a line of Drive's own to the transcript.
func (s *driveSession) note(msg string) {
	if !s.lineOut {
		s.write("\n")
	}
	s.write("[msguard] " + msg + "\n")
	s.afterAnswer = false
}

// redact masks the secrets in a string taken from the installer's output.
func (s *driveSession) redact(t string) string {
	for _, sec := range s.tw.secrets {
		t = strings.ReplaceAll(t, sec, secretMask)
	}
	return t
}

// kill stops the installer's whole process group and reaps it; an
// installer that already exited is left alone (its group id may be reused).
func (s *driveSession) kill() {
	if s.done {
		return
	}
	select {
	case <-s.exited:
	default:
		_ = syscall.Kill(-s.io.pgid, syscall.SIGKILL)
		<-s.exited
	}
	s.done = true
}

// promptDefault matches the " [<default>]" that ends a prompt's text.
var promptDefault = regexp.MustCompile(`\s*\[[^\[\]]*\]$`)

// PromptText is a prompt line without its trailing "[<default>]: " or ": "
// and surrounding blanks: the text an Answer's Match is matched against.
func PromptText(line string) string {
	t := strings.TrimSpace(line)
	t = strings.TrimSuffix(t, ":")
	t = promptDefault.ReplaceAllString(t, "")
	return strings.TrimSpace(t)
}

// readSyscalls are the system call numbers of read, readv and pread64 by
// architecture, for telling from /proc that a process waits on its input.
var readSyscalls = map[string][]int{
	"amd64": {0, 17, 19},
	"arm64": {63, 65, 67},
	"386":   {3, 145, 180},
}

// stdinWaitSeen is processReadingStdin; tests replace it to drive
// installers as on a system without /proc.
var stdinWaitSeen = processReadingStdin

// processReadingStdin reports whether a thread of a process in group pgid
// is blocked in a read of its file descriptor 0, and that is stdin: the
// installer's input, not a pipe between two of its children (a nil stdin
// takes any). Without /proc it is false.
func processReadingStdin(pgid int, stdin os.FileInfo) bool {
	nrs := readSyscalls[runtime.GOARCH]
	if len(nrs) == 0 {
		return false
	}
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return false
	}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || procGroup(pid) != pgid {
			continue
		}
		if stdin != nil {
			if fi, err := os.Stat(filepath.Join("/proc", e.Name(), "fd", "0")); err != nil || !os.SameFile(fi, stdin) {
				continue
			}
		}
		tasks, err := os.ReadDir(filepath.Join("/proc", e.Name(), "task"))
		if err != nil {
			continue
		}
		for _, t := range tasks {
			b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "task", t.Name(), "syscall"))
			if err != nil {
				continue
			}
			f := strings.Fields(string(b))
			if len(f) < 2 || f[1] != "0x0" {
				continue
			}
			nr, err := strconv.Atoi(f[0])
			if err != nil {
				continue
			}
			for _, r := range nrs {
				if nr == r {
					return true
				}
			}
		}
	}
	return false
}

// procGroup is the process group of pid from /proc/<pid>/stat, -1 if unknown.
func procGroup(pid int) int {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return -1
	}
	// The command name in parentheses may hold blanks and parentheses.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return -1
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 3 {
		return -1
	}
	g, err := strconv.Atoi(f[2])
	if err != nil {
		return -1
	}
	return g
}

// secretRedactor writes to w with every secret replaced by "********". It
// holds back output that may be the start of a secret split across writes.
type secretRedactor struct {
	w       io.Writer
	secrets []string
	buf     []byte
	err     error
}

func newSecretRedactor(w io.Writer, secrets []string) *secretRedactor {
	return &secretRedactor{w: w, secrets: secrets}
}

// Write never fails; the first error of w is kept for flush.
func (r *secretRedactor) Write(p []byte) (int, error) {
	r.buf = append(r.buf, p...)
	r.emit(false)
	return len(p), nil
}

// flush writes what was held back and returns the first write error.
func (r *secretRedactor) flush() error {
	r.emit(true)
	return r.err
}

// emit writes the buffer with the secrets masked, up to the first place
// that may begin a secret not complete yet (all: write everything).
func (r *secretRedactor) emit(all bool) {
	var out []byte
	i := 0
scan:
	for i < len(r.buf) {
		rest := r.buf[i:]
		if !all {
			// What follows may still complete a (longer) secret.
			for _, sec := range r.secrets {
				if len(rest) < len(sec) && strings.HasPrefix(sec, string(rest)) {
					break scan
				}
			}
		}
		for _, sec := range r.secrets {
			if bytes.HasPrefix(rest, []byte(sec)) {
				out = append(out, secretMask...)
				i += len(sec)
				continue scan
			}
		}
		out = append(out, r.buf[i])
		i++
	}
	r.buf = append(r.buf[:0], r.buf[i:]...)
	if len(out) > 0 && r.err == nil {
		_, r.err = r.w.Write(out)
	}
}
