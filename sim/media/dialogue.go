package media

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"
)

// dialogue is an installer's conversation with its operator: every prompt is
// one line ending in "[<default>]: " (or ": " for a password) and is answered
// by one line of input; an empty answer takes the default. It keeps a
// transcript without passwords for the installer's log.
type dialogue struct {
	in  *bufio.Reader
	out io.Writer
	// fd is stdin's descriptor when it is a terminal, else -1.
	fd  int
	log strings.Builder
}

func newDialogue(in io.Reader, out io.Writer) *dialogue {
	d := &dialogue{in: bufio.NewReader(in), out: out, fd: -1}
	if f, ok := in.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		d.fd = int(f.Fd())
	}
	return d
}

// say prints information lines (not prompts).
func (d *dialogue) say(lines ...string) {
	for _, l := range lines {
		fmt.Fprintln(d.out, l)
		d.log.WriteString(l + "\n")
	}
}

// ask prints "prompt [def]: " and returns the answer, or def on Enter.
func (d *dialogue) ask(prompt, def string) (string, error) {
	p := fmt.Sprintf("%s [%s]: ", prompt, def)
	fmt.Fprint(d.out, p)
	ans, err := d.readLine(p)
	if err != nil {
		return "", err
	}
	d.log.WriteString(p + ans + "\n")
	if ans == "" {
		return def, nil
	}
	return ans, nil
}

// secret prints "prompt: " and reads a password, without echo on a terminal.
// The answer never reaches the transcript.
func (d *dialogue) secret(prompt string) (string, error) {
	p := prompt + ": "
	fmt.Fprint(d.out, p)
	d.log.WriteString(p + "\n")
	if d.fd >= 0 {
		b, err := term.ReadPassword(d.fd)
		fmt.Fprintln(d.out)
		if err != nil {
			return "", fmt.Errorf("read answer to %q: %w", strings.TrimSpace(p), err)
		}
		return string(b), nil
	}
	return d.readLine(p)
}

// readLine reads one answer line. On a terminal the echo ends the prompt's
// line; otherwise a newline is printed so every prompt stays on its own line.
func (d *dialogue) readLine(prompt string) (string, error) {
	line, err := d.in.ReadString('\n')
	if d.fd < 0 {
		fmt.Fprintln(d.out)
	}
	if err != nil && !(errors.Is(err, io.EOF) && line != "") {
		if errors.Is(err, io.EOF) {
			return "", fmt.Errorf("no answer to %q: end of input", strings.TrimSpace(prompt))
		}
		return "", fmt.Errorf("read answer to %q: %w", strings.TrimSpace(prompt), err)
	}
	return strings.TrimSpace(strings.TrimRight(line, "\r\n")), nil
}

// yes reports whether an answer means yes (Yes, yes, y, Y).
func yes(ans string) bool {
	switch strings.ToLower(strings.TrimSpace(ans)) {
	case "y", "yes":
		return true
	}
	return false
}

// no reports whether an answer means no.
func no(ans string) bool {
	switch strings.ToLower(strings.TrimSpace(ans)) {
	case "n", "no":
		return true
	}
	return false
}
