package installer

import (
	"context"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
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
