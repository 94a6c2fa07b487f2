// One Drive call: reading the installer's output, recognising prompts,
// answering them and stopping the installer.

package installer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

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
