package installer

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// dialogueModes are the two ways Drive connects an installer.
var dialogueModes = []struct {
	name string
	pty  bool
}{{"pipe", false}, {"pty", true}}

const dialogueTestSecret = "s3cret-Pw!42"

// scriptCmd runs testdata/dialogue/<name> with sh, its first argument a
// file the script records an answer in.
func scriptCmd(t *testing.T, name string) (*exec.Cmd, string) {
	t.Helper()
	record := filepath.Join(t.TempDir(), "answer")
	return exec.Command("/bin/sh", filepath.Join("testdata", "dialogue", name), record), record
}

// killed reports whether the command was killed by SIGKILL.
func killed(cmd *exec.Cmd) bool {
	if cmd.ProcessState == nil {
		return false
	}
	ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL
}

func TestPromptText(t *testing.T) {
	tests := []struct{ line, want string }{
		{"Would you like to continue with installation? [Yes]: ", "Would you like to continue with installation?"},
		{"Choose an installation type: 1. Express 2. Typical 3. Custom [2]: ", "Choose an installation type: 1. Express 2. Typical 3. Custom"},
		{"Install location [/usr/iplanet/server5]: ", "Install location"},
		{"Specify the components you wish to install [All]: ", "Specify the components you wish to install"},
		{"LDAP Configuration Directory Server URL [ldap://h:389/o=NetscapeRoot]: ", "LDAP Configuration Directory Server URL"},
		{"Configuration Directory Administrator password: ", "Configuration Directory Administrator password"},
		{"Password: ", "Password"},
		{"Do you want to update the schema files [yes]: ", "Do you want to update the schema files"},
		{"Please enter your choice []: ", "Please enter your choice"},
		{"  Enter the name of the disk", "Enter the name of the disk"},
	}
	for _, tc := range tests {
		if got := PromptText(tc.line); got != tc.want {
			t.Errorf("PromptText(%q) = %q; want %q", tc.line, got, tc.want)
		}
	}
}

func TestSecretRedactor(t *testing.T) {
	tests := []struct {
		name    string
		secrets []string
		in      []string
		want    string
	}{
		{"none", nil, []string{"plain ", "text\n"}, "plain text\n"},
		{"whole", []string{"hunter2"}, []string{"pw hunter2 ok\n"}, "pw ******** ok\n"},
		{"split", []string{"hunter2"}, []string{"pw hun", "ter2 ok\n"}, "pw ******** ok\n"},
		{"prefix only", []string{"hunter2"}, []string{"hunt", "ing\n"}, "hunting\n"},
		{"at the end", []string{"hunter2"}, []string{"x hunter"}, "x hunter"},
		{"twice", []string{"ab"}, []string{"abab-a", "b"}, "****************-********"},
		{"nested, longest first", []string{"secret-long", "secret"}, []string{"secret-long secret"}, "******** ********"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// Whole chunks, and then byte by byte.
			for _, bytewise := range []bool{false, true} {
				var out bytes.Buffer
				r := newSecretRedactor(&out, tc.secrets)
				for _, c := range tc.in {
					if !bytewise {
						r.Write([]byte(c))
						continue
					}
					for i := range len(c) {
						r.Write([]byte{c[i]})
					}
				}
				if err := r.flush(); err != nil {
					t.Fatal(err)
				}
				if out.String() != tc.want {
					t.Errorf("bytewise %v: got %q; want %q", bytewise, out.String(), tc.want)
				}
			}
		})
	}
}

// scriptAnswers are the answers of the script tests.
var scriptAnswers = []Answer{
	{Name: "location", Match: regexp.MustCompile(`^Install location$`), Reply: "/opt/srv", Optional: true},
	{Name: "password", Match: regexp.MustCompile(`^(Administrator p|P)assword$`), Reply: dialogueTestSecret, Secret: true, Optional: true},
	{Name: "proceed", Match: regexp.MustCompile(`^Proceed with the upgrade\?$`), Reply: "Yes", Optional: true},
	{Name: "continue", Match: regexp.MustCompile(`^Continue$`), Reply: "", Optional: true},
	{Name: "instance", Match: regexp.MustCompile(`^Instance name$`), Reply: "budgie", Optional: true},
}

func TestDriveScripts(t *testing.T) {
	tests := []struct {
		script  string
		answers []Answer
		timeout time.Duration
		// transcript is the whole transcript wanted, "" not checked.
		transcript string
		// record is what the script must have recorded, "" that it recorded nothing.
		record string
		check  func(t *testing.T, err error, cmd *exec.Cmd)
	}{
		{
			script:     "two-questions.sh",
			transcript: "Install location [/usr/iplanet/server5]: /opt/srv\nAdministrator password: ********\nlocation /opt/srv\nInstallation complete.\n",
			record:     dialogueTestSecret + "\n",
		},
		{
			script:     "echo-secret.sh",
			transcript: "Password: ********\nyou typed ********, twice: ****************\n",
			record:     dialogueTestSecret + "\n",
		},
		{
			script: "repeat.sh",
			transcript: "Instance name [slapd-1]: budgie\nPassword: ********\ninstance 1: budgie\n" +
				"Instance name [slapd-2]: budgie\nPassword: ********\ninstance 2: budgie\n",
		},
		{
			script:     "format-disk.sh",
			transcript: "Preparing the installation.\nDo you want to format the disk? [No]: \n[msguard] unknown prompt \"Do you want to format the disk? [No]: \": not answered, installer stopped\n",
			check: func(t *testing.T, err error, cmd *exec.Cmd) {
				var up *UnknownPromptError
				if !errors.As(err, &up) || up.Prompt != "Do you want to format the disk? [No]: " {
					t.Errorf("err = %v; want *UnknownPromptError for the format prompt", err)
				}
				if !killed(cmd) {
					t.Errorf("installer not killed: %v", cmd.ProcessState)
				}
			},
		},
		{
			script: "plain-question.sh",
			check: func(t *testing.T, err error, cmd *exec.Cmd) {
				var up *UnknownPromptError
				if !errors.As(err, &up) || up.Prompt != "Enter the name of the disk to format" {
					t.Errorf("err = %v; want *UnknownPromptError for the plain question", err)
				}
				if !killed(cmd) {
					t.Errorf("installer not killed: %v", cmd.ProcessState)
				}
			},
		},
		{
			script:  "silent-after-answer.sh",
			timeout: time.Second,
			check: func(t *testing.T, err error, cmd *exec.Cmd) {
				var te *TimeoutError
				if !errors.As(err, &te) || te.After != time.Second {
					t.Errorf("err = %v; want *TimeoutError after 1s", err)
				}
				if !killed(cmd) {
					t.Errorf("installer not killed: %v", cmd.ProcessState)
				}
			},
		},
		{
			script:     "silent-partial.sh",
			timeout:    time.Second,
			transcript: "Copying files...\n[msguard] no output and no prompt for 1s: installer stopped\n",
			check: func(t *testing.T, err error, cmd *exec.Cmd) {
				var te *TimeoutError
				if !errors.As(err, &te) || te.Last != "Copying files..." {
					t.Errorf("err = %v; want *TimeoutError after Copying files...", err)
				}
			},
		},
		{
			script:  "rejected.sh",
			answers: []Answer{{Name: "password", Match: regexp.MustCompile(`^Password$`), Reply: "wrong"}},
			check: func(t *testing.T, err error, cmd *exec.Cmd) {
				if err == nil || !strings.Contains(err.Error(), `prompt "Password: " asked again after answer password`) {
					t.Errorf("err = %v; want the rejected answer", err)
				}
			},
		},
		{
			script:     "fail.sh",
			transcript: "Continue [yes]: \nERROR: first problem\nCleaning up.\nERROR: disk full\n",
			check: func(t *testing.T, err error, cmd *exec.Cmd) {
				var ie *Error
				if !errors.As(err, &ie) || ie.ExitCode != 3 || ie.Message != "ERROR: disk full" {
					t.Errorf("err = %v; want *Error exit 3 ERROR: disk full", err)
				}
				if err != nil && !strings.Contains(err.Error(), "ERROR: disk full") {
					t.Errorf("error %q lacks the installer's ERROR line", err)
				}
			},
		},
		{
			script:  "asks-nothing.sh",
			answers: []Answer{{Name: "license", Match: regexp.MustCompile(`^License$`), Reply: "Yes"}},
			check: func(t *testing.T, err error, cmd *exec.Cmd) {
				if err == nil || !strings.Contains(err.Error(), "finished without asking for license") {
					t.Errorf("err = %v; want the unasked license", err)
				}
			},
		},
	}
	for _, tc := range tests {
		for _, m := range dialogueModes {
			t.Run(strings.TrimSuffix(tc.script, ".sh")+"/"+m.name, func(t *testing.T) {
				t.Parallel()
				answers := tc.answers
				if answers == nil {
					answers = scriptAnswers
				}
				timeout := tc.timeout
				if timeout == 0 {
					timeout = time.Minute
				}
				cmd, record := scriptCmd(t, tc.script)
				var tr bytes.Buffer
				d := Dialogue{Program: tc.script, Answers: answers, PromptTimeout: timeout, UsePTY: m.pty}
				err := Drive(context.Background(), cmd, d, &tr)
				if tc.check != nil {
					tc.check(t, err, cmd)
				} else if err != nil {
					t.Errorf("Drive: %v", err)
				}
				if tc.transcript != "" && tr.String() != tc.transcript {
					t.Errorf("transcript:\n%q\nwant:\n%q", tr.String(), tc.transcript)
				}
				if strings.Contains(tr.String(), dialogueTestSecret) || (err != nil && strings.Contains(err.Error(), dialogueTestSecret)) {
					t.Errorf("the secret leaked:\n%s\n%v", tr.String(), err)
				}
				got, rerr := os.ReadFile(record)
				switch {
				case tc.record == "" && rerr == nil:
					t.Errorf("the script recorded an answer %q: it was answered", got)
				case tc.record != "" && string(got) != tc.record:
					t.Errorf("recorded %q (%v); want %q", got, rerr, tc.record)
				}
			})
		}
	}
}

func TestDriveCancelled(t *testing.T) {
	for _, m := range dialogueModes {
		t.Run(m.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			cmd, record := scriptCmd(t, "format-disk.sh")
			err := Drive(ctx, cmd, Dialogue{Answers: scriptAnswers, UsePTY: m.pty}, nil)
			if !errors.Is(err, context.Canceled) {
				t.Errorf("err = %v; want context.Canceled", err)
			}
			if cmd.ProcessState == nil {
				t.Errorf("installer not reaped")
			}
			if _, err := os.Stat(record); err == nil {
				t.Errorf("the cancelled installer was answered")
			}
		})
	}
}

func TestDriveRefuses(t *testing.T) {
	tests := []struct {
		name    string
		cmd     func() *exec.Cmd
		answers []Answer
		want    string
	}{
		{"no match", func() *exec.Cmd { return exec.Command("/bin/true") },
			[]Answer{{Name: "x"}}, "true: answer x: no match"},
		{"reply spans lines", func() *exec.Cmd { return exec.Command("/bin/true") },
			[]Answer{{Name: "x", Match: regexp.MustCompile(`x`), Reply: "a\nb"}}, "answer x: reply spans lines"},
		{"stdout set", func() *exec.Cmd { c := exec.Command("/bin/true"); c.Stdout = os.Stdout; return c },
			nil, "true: stdin, stdout or stderr already set"},
		{"missing program", func() *exec.Cmd { return exec.Command("/nonexistent/setup") },
			nil, "setup: start:"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Drive(context.Background(), tc.cmd(), Dialogue{Answers: tc.answers}, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Drive = %v; want an error with %q", err, tc.want)
			}
		})
	}
}

// TestDriveWithoutProc drives installers as where /proc cannot tell that
// they wait for input: prompts are then taken after the settle time.
func TestDriveWithoutProc(t *testing.T) {
	saved := stdinWaitSeen
	stdinWaitSeen = func(int, os.FileInfo) bool { return false }
	defer func() { stdinWaitSeen = saved }()
	for _, m := range dialogueModes {
		t.Run(m.name, func(t *testing.T) {
			cmd, record := scriptCmd(t, "two-questions.sh")
			var tr bytes.Buffer
			d := Dialogue{Answers: scriptAnswers, PromptTimeout: time.Minute, UsePTY: m.pty}
			if err := Drive(context.Background(), cmd, d, &tr); err != nil {
				t.Fatalf("Drive: %v\n%s", err, tr.String())
			}
			if got, err := os.ReadFile(record); err != nil || string(got) != dialogueTestSecret+"\n" {
				t.Errorf("recorded %q (%v)", got, err)
			}
			cmd, record = scriptCmd(t, "format-disk.sh")
			var up *UnknownPromptError
			if err := Drive(context.Background(), cmd, d, &tr); !errors.As(err, &up) {
				t.Errorf("format-disk: %v; want *UnknownPromptError", err)
			}
			if _, err := os.Stat(record); err == nil {
				t.Errorf("format-disk was answered")
			}
		})
	}
}

func TestDriveTerminal(t *testing.T) {
	for _, m := range dialogueModes {
		t.Run(m.name, func(t *testing.T) {
			cmd := exec.Command("/bin/sh", "-c", `if [ -t 0 ]; then echo terminal; else echo pipe; fi`)
			var tr bytes.Buffer
			if err := Drive(context.Background(), cmd, Dialogue{UsePTY: m.pty}, &tr); err != nil {
				t.Fatal(err)
			}
			want := map[bool]string{false: "pipe\n", true: "terminal\n"}[m.pty]
			if tr.String() != want {
				t.Errorf("transcript %q; want %q", tr.String(), want)
			}
		})
	}
}

// TestProcessReadingStdin tells an installer waiting on its input from one
// whose child reads a pipe of its own.
func TestProcessReadingStdin(t *testing.T) {
	tests := []struct {
		name   string
		script string
		// want is the answer once some process of the group is blocked reading.
		want bool
	}{
		{"reads its input", "read answer", true},
		{"child reads an inner pipe", "sleep 600 | cat", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			inR, inW, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			defer inW.Close()
			stdin, err := inR.Stat()
			if err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command("/bin/sh", "-c", tc.script)
			cmd.Stdin = inR
			cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			inR.Close()
			pgid := cmd.Process.Pid
			defer func() {
				syscall.Kill(-pgid, syscall.SIGKILL)
				cmd.Wait()
			}()
			// Wait until a process of the group is blocked reading its fd 0.
			for !processReadingStdin(pgid, nil) {
				time.Sleep(10 * time.Millisecond)
			}
			if got := processReadingStdin(pgid, stdin); got != tc.want {
				t.Errorf("processReadingStdin = %v; want %v", got, tc.want)
			}
		})
	}
}
