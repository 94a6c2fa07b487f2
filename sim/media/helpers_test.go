package media

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/msguard/msguard/sim"
	"github.com/msguard/msguard/sim/tree"
)

const (
	testHost      = "mail.siroe.com"
	testConfigURL = "ldap://mail.siroe.com:389/o=NetscapeRoot"
	testUGURL     = "ldap://mail.siroe.com:389/o=siroe.com"
	testAdminPw   = "admin-Secret-4412"
	testDMPw      = "dm-Secret-7731"
	testSvcPw     = "svc-Secret-9920"
)

// testInstallInf is layout.md's install.inf, with CRLF line ends and a
// password key, as a hand-built root may have it.
const testInstallInf = "[General]\r\nFullMachineName= mail.siroe.com\r\nServerRoot= %s\r\n" +
	"ConfigDirectoryLdapURL= " + testConfigURL + "\r\nConfigDirectoryAdminID= admin\r\n" +
	"ConfigDirectoryAdminPwd= " + testAdminPw + "\r\nUserDirectoryLdapURL= " + testUGURL + "\r\n" +
	"Components= nsperl,svrcore,base,slapd,admin,msg\r\n[slapd]\r\nServerPort= 389\r\n" +
	"ServerIdentifier= budgie\r\nSuffix= o=siroe.com\r\n[msg]\r\nInstanceName= msg-budgie\r\n" +
	"ServiceAdminID= %s\r\n"

// testRoot is a simulated root built by hand (newTestRoot): state, install.inf, the
// messaging configuration and the binary with two hard links.
type testRoot struct {
	st    *sim.State
	root  string
	media string
}

func newTestRoot(t *testing.T, mutate func(sc *sim.Scenario)) *testRoot {
	t.Helper()
	base := t.TempDir()
	sc := sim.Scenario{Root: filepath.Join(base, "server5"), Host: testHost, Ports: sim.Ports{LDAP: 389, IMAP: 143, POP: 110, HTTP: 80}}
	if mutate != nil {
		mutate(&sc)
	}
	sc.Defaults()
	if err := sc.Validate(); err != nil {
		t.Fatal(err)
	}
	st := &sim.State{Scenario: sc, MsgVersion: sc.MsgVersion, DSVersion: sc.DSVersion, WebServer: sc.WebServer, DA: sc.DA}
	if err := st.Save(); err != nil {
		t.Fatal(err)
	}
	p := st.Paths()
	write := func(path, body string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(p.InstallInf(), fmt.Sprintf(testInstallInf, sc.Root, sc.Secrets.ServiceAdminID))
	if err := tree.WriteMsgConfig(st, true); err != nil {
		t.Fatal(err)
	}
	write(filepath.Join(p.Inst(), "imta", "config", "imta.cnf"), "! imta.cnf 5.1\n")
	write(filepath.Join(p.Inst(), "html", "en", "main.html"), "<html>5.1</html>\n")
	write(p.SimBinary(), "old binary\n")
	for _, l := range []string{filepath.Join(p.MsgLib(), "stored"), p.NsSlapd()} {
		if err := os.MkdirAll(filepath.Dir(l), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Link(p.SimBinary(), l); err != nil {
			t.Fatal(err)
		}
	}
	if sc.WebServer != "" {
		write(filepath.Join(sc.WebServerRoot, "https-"+sc.Host, "config", "servlets.properties"), "servlet.nda.code=old\n")
		write(filepath.Join(sc.WebServerRoot, "https-admserv", "config", "magnus.conf"), "ServerID https-admserv\n")
	}
	if err := tree.WriteVersionFiles(st); err != nil {
		t.Fatal(err)
	}
	newBin := filepath.Join(base, "new-msguard-sim")
	write(newBin, "new binary\n")
	media := filepath.Join(base, "media")
	if err := WriteMedia(media, newBin); err != nil {
		t.Fatal(err)
	}
	return &testRoot{st: st, root: sc.Root, media: media}
}

// fakeDirectory is the directory the unit tests' installers bind to:
// reachable URLs and dn → password.
type fakeDirectory struct {
	reachable map[string]bool
	passwords map[string]string
	applied   []string
}

func newFakeDirectory(svcID string) *fakeDirectory {
	return &fakeDirectory{
		reachable: map[string]bool{testConfigURL: true, testUGURL: true, "ldap://127.0.0.1:389": true},
		passwords: map[string]string{
			"uid=admin,ou=Administrators,ou=TopologyManagement,o=NetscapeRoot": testAdminPw,
			"uid=" + svcID + ",ou=People,o=siroe.com":                          testSvcPw,
			"cn=Directory Manager":                                             testDMPw,
		},
	}
}

func (f *fakeDirectory) env() env {
	return env{
		bind: func(_ context.Context, url, dn, pw string) error {
			if !f.reachable[url] {
				return fmt.Errorf("dial %s: connection refused", url)
			}
			if dn == "" {
				return nil
			}
			if want, ok := f.passwords[dn]; !ok || want != pw {
				return errors.New("LDAP Result Code 49 \"Invalid Credentials\"")
			}
			return nil
		},
		dsURL: func(st *sim.State, id string) string { return "ldap://127.0.0.1:389" },
		applyDSSetup: func(_ context.Context, st *sim.State, id, pw string) error {
			f.applied = append(f.applied, id+":"+pw)
			return nil
		},
		writeMsgConfig:    tree.WriteMsgConfig,
		writeIMTAConfig:   tree.WriteIMTAConfig,
		writeHTML:         tree.WriteHTML,
		writeVersionFiles: tree.WriteVersionFiles,
		now:               func() time.Time { return time.Date(2002, 9, 16, 10, 30, 0, 0, time.Local) },
	}
}

// run drives an installer with the answers, one line each, and returns its
// output and error.
func run(t *testing.T, e env, body installerBody, media string, args []string, answers ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	in := strings.NewReader(strings.Join(answers, "\n") + "\n")
	err := runInstaller(context.Background(), e, body, media, args, sim.Stdio{In: in, Out: &out, Err: &out})
	return out.String(), err
}

// prompts returns the prompt lines of a transcript: lines ending in ": ".
func prompts(out string) []string {
	var ps []string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasSuffix(l, ": ") {
			ps = append(ps, l)
		}
	}
	return ps
}

func reload(t *testing.T, root string) *sim.State {
	t.Helper()
	st, err := sim.LoadState(root)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}
