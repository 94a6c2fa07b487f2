// Starting an installer on pipes or on a pseudo-terminal, in its own process group.

package installer

import (
	"fmt"
	"os"
	"os/exec"
	"syscall"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

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
