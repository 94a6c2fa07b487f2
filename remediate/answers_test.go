package remediate

import (
	"github.com/msguard/msguard/remediate/installer"

	"bytes"
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/msguard/msguard/sim"
	"github.com/msguard/msguard/sim/directory"
	"github.com/msguard/msguard/sim/media"
	"github.com/msguard/msguard/sim/simtest"
)

// dialogueModes are the two ways installer.Drive connects an installer.
var dialogueModes = []struct {
	name string
	pty  bool
}{{"pipe", false}, {"pty", true}}

// answerFor is the first installer.Answer of d matching the prompt line, as Drive
// picks it for a prompt asked the first time.
func answerFor(d installer.Dialogue, line string) (installer.Answer, bool) {
	for _, a := range d.Answers {
		if a.Match.MatchString(installer.PromptText(line)) {
			return a, true
		}
	}
	return installer.Answer{}, false
}

// promptWant is how an answer table must answer a prompt line.
type promptWant struct {
	line     string
	reply    string
	secret   bool
	optional bool
}

func TestAnswerTables(t *testing.T) {
	const root = "/usr/iplanet/server5"
	setupPrompts := func(components, choice, svcPw string, svcOptional bool, ldapURL, svcID string) []promptWant {
		return []promptWant{
			{line: "Would you like to continue with installation? [Yes]: ", reply: "Yes"},
			{line: "Do you agree to the license terms? [No]: ", reply: "Yes"},
			{line: "Choose an installation type: 1. Express 2. Typical 3. Custom [2]: ", reply: "2"},
			{line: "Install location [/usr/iplanet/server5]: ", reply: root},
			{line: "Specify the components you wish to install [All]: ", reply: components},
			{line: "Please enter your choice [1]: ", reply: "2", optional: choice == ""},
			{line: "LDAP Configuration Directory Server URL [ldap://mail.siroe.com:389/o=NetscapeRoot]: ", reply: ldapURL},
			{line: "Configuration Directory Administrator ID [admin]: ", reply: "admin"},
			{line: "Configuration Directory Administrator password: ", reply: "adminpw", secret: true},
			{line: "Service Administrator ID [ServiceAdmin]: ", reply: svcID},
			{line: "Service Administrator password: ", reply: svcPw, secret: true, optional: svcOptional},
		}
	}
	tests := []struct {
		name    string
		d       installer.Dialogue
		prompts []promptWant
		unknown []string
	}{
		{
			name:    "setup DS only",
			d:       SetupAnswers(SetupOptions{Root: root, Components: DSComponents, AdminPassword: "adminpw"}),
			prompts: setupPrompts("1, 2, 3", "", "", true, "", "ServiceAdmin"),
			unknown: []string{"Do you want to format the disk? [No]: ", "Install location for the Web Server [/]: "},
		},
		{
			name:    "setup messaging after DS",
			d:       SetupAnswers(SetupOptions{Root: root, Components: "1, 3, 4", AdminPassword: "adminpw", ServiceAdminID: "ServiceAdmin"}),
			prompts: setupPrompts("1, 3, 4", "2", "", true, "", "ServiceAdmin"),
		},
		{
			name: "setup default components, own service admin",
			d: SetupAnswers(SetupOptions{Root: root, AdminPassword: "adminpw", ConfigLDAPURL: "ldap://ds:389/o=NetscapeRoot",
				ServiceAdminID: "mailadm", ServiceAdminPassword: "svcpw"}),
			prompts: setupPrompts("1, 2, 3, 4", "2", "svcpw", false, "ldap://ds:389/o=NetscapeRoot", "mailadm"),
		},
		{
			name: "ims_dssetup",
			d:    DSSetupAnswers(DSSetupOptions{Root: root, InstanceIndex: 2, DMPassword: "dmpw"}),
			prompts: []promptWant{
				{line: "Directory server root [/usr/iplanet/server5]: ", reply: root},
				{line: "Which instance do you want [1]: ", reply: "2"},
				{line: "Please enter the directory manager DN [cn=Directory Manager]: ", reply: ""},
				{line: "Password: ", reply: "dmpw", secret: true},
				{line: "Will this directory server be used for users/groups [Yes]: ", reply: "Yes"},
				{line: "Please enter the Users and Groups base suffix [o=siroe.com]: ", reply: ""},
				{line: "Do you want to update the schema files [yes]: ", reply: "yes"},
				{line: "Do you want to configure new indexes [yes]: ", reply: "yes"},
				{line: "Do you want to continue [y]: ", reply: "y"},
			},
			unknown: []string{"Do you want to delete the suffix [no]: "},
		},
		{
			name: "web server",
			d:    WebServerAnswers("/opt/ws"),
			prompts: []promptWant{
				{line: "Would you like to continue with installation? [Yes]: ", reply: "Yes"},
				{line: "Install location [/usr/iplanet/server5]: ", reply: "/opt/ws"},
				{line: "Upgrade the existing Web Server instance https-mail.siroe.com? [Yes]: ", reply: "Yes"},
			},
			unknown: []string{"Migrate the existing Web Server instance https-mail.siroe.com? [Yes]: "},
		},
		{
			name: "delegated administrator",
			d:    DAAnswers(root),
			prompts: []promptWant{
				{line: "Would you like to continue with installation? [Yes]: ", reply: "Yes", optional: true},
				{line: "Install location [/usr/iplanet/server5]: ", reply: root},
				{line: "Uninstall iPlanet Delegated Administrator 1.1? [Yes]: ", reply: "Yes", optional: true},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.d.Program == "" || tc.d.PromptTimeout <= 0 {
				t.Errorf("Program %q, PromptTimeout %s", tc.d.Program, tc.d.PromptTimeout)
			}
			if err := tc.d.Validate(tc.d.Program); err != nil {
				t.Fatal(err)
			}
			for _, p := range tc.prompts {
				a, ok := answerFor(tc.d, p.line)
				if !ok {
					t.Errorf("%q: no answer", p.line)
					continue
				}
				if a.Reply != p.reply || a.Secret != p.secret || a.Optional != p.optional {
					t.Errorf("%q: reply %q secret %v optional %v; want %q %v %v", p.line, a.Reply, a.Secret, a.Optional, p.reply, p.secret, p.optional)
				}
			}
			if len(tc.d.Answers) != len(tc.prompts) {
				t.Errorf("%d answers for %d prompts", len(tc.d.Answers), len(tc.prompts))
			}
			for _, l := range tc.unknown {
				if a, ok := answerFor(tc.d, l); ok {
					t.Errorf("%q answered by %s", l, a.Name)
				}
			}
		})
	}
}

// runMedia drives the media's installer rel (such as "msg52/setup") and
// returns its transcript.
func runMedia(t *testing.T, dir, rel string, args []string, d installer.Dialogue) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var tr bytes.Buffer
	err := installer.Drive(ctx, exec.Command(filepath.Join(dir, rel), args...), d, &tr)
	t.Logf("%s transcript:\n%s", rel, tr.String())
	return tr.String(), err
}

// TestDriveSimulatedMedia drives the simulated media's installers (the real
// msguard-sim binary) on a 5.1 host with Directory Server 4.13 and a real
// directory, through pipes and through a PTY, as the runbook says: setup
// -k with a wrong admin password, for the Directory Server (1, 2, 3), then
// for Messaging Server (1, 3, 4); ims_dssetup.pl; and on the pipe host the
// Web Server and Delegated Administrator installers.
func TestDriveSimulatedMedia(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a simulated host")
	}
	for _, m := range dialogueModes {
		t.Run(m.name, func(t *testing.T) {
			h := simtest.New(t, func(sc *sim.Scenario) {
				if !m.pty {
					sc.WebServer, sc.DA = "6.0SP1", "1.1"
				}
			})
			h.Start(t)
			sc := h.State.Scenario
			if h.State.MsgVersion != "5.1" || h.State.DSVersion != "4.13" {
				t.Fatalf("host is %s / DS %s; want 5.1 / 4.13", h.State.MsgVersion, h.State.DSVersion)
			}
			dir := filepath.Join(t.TempDir(), "media")
			if err := media.WriteMedia(dir, simtest.Binary(t)); err != nil {
				t.Fatal(err)
			}
			secrets := []string{sc.Secrets.ConfigAdmin, sc.Secrets.DirectoryManager}
			var all strings.Builder
			setup := func(components, password string) (string, error) {
				d := SetupAnswers(SetupOptions{Root: h.Root, Components: components, AdminPassword: password})
				d.UsePTY = m.pty
				tr, err := runMedia(t, dir, "msg52/setup", []string{"-k"}, d)
				all.WriteString(tr)
				return tr, err
			}

			// A wrong password: setup's ERROR line comes back in the error.
			const wrongPw = "not-the-Admin-pw"
			secrets = append(secrets, wrongPw)
			tr, err := setup(DSComponents, wrongPw)
			var ie *installer.Error
			if !errors.As(err, &ie) || ie.ExitCode == 0 ||
				!strings.HasPrefix(ie.Message, "ERROR: cannot authenticate configuration directory administrator admin") ||
				!strings.Contains(err.Error(), ie.Message) {
				t.Fatalf("wrong password: %v; want *installer.Error with setup's ERROR line", err)
			}
			if !strings.Contains(tr, "Configuration Directory Administrator password: ********\n") {
				t.Errorf("transcript does not show the masked password")
			}

			tr, err = setup(DSComponents, sc.Secrets.ConfigAdmin)
			if err != nil {
				t.Fatalf("setup -k %s: %v", DSComponents, err)
			}
			if !strings.HasSuffix(tr, "Installation complete.\n") || strings.Contains(tr, "Please enter your choice") {
				t.Errorf("setup -k %s transcript does not end in Installation complete. or asked the upgrade choice", DSComponents)
			}
			if st := h.Reload(t); st.MsgVersion != "5.1" || st.DSVersion != "4.16" {
				t.Errorf("after setup -k %s: %s / DS %s; want 5.1 / 4.16", DSComponents, st.MsgVersion, st.DSVersion)
			}

			tr, err = setup("1, 3, 4", sc.Secrets.ConfigAdmin)
			if err != nil {
				t.Fatalf("setup -k 1, 3, 4: %v", err)
			}
			if !strings.HasSuffix(tr, "Installation complete.\n") || !strings.Contains(tr, "Please enter your choice [1]: 2\n") {
				t.Errorf("setup -k 1, 3, 4 transcript lacks the upgrade choice or Installation complete.")
			}
			st := h.Reload(t)
			if st.MsgVersion != "5.2" || st.DSVersion != "4.16" {
				t.Errorf("after setup -k 1, 3, 4: %s / DS %s; want 5.2 / 4.16", st.MsgVersion, st.DSVersion)
			}

			d := DSSetupAnswers(DSSetupOptions{Root: h.Root, InstanceIndex: 1, DMPassword: sc.Secrets.DirectoryManager})
			d.UsePTY = m.pty
			tr, err = runMedia(t, dir, "msg52/ims_dssetup.pl", nil, d)
			all.WriteString(tr)
			if err != nil {
				t.Fatalf("ims_dssetup.pl: %v", err)
			}
			id := sc.DSInstances[0]
			ok, err := directory.SchemaHasObjectClass(context.Background(), directory.URL(st, id),
				"cn=Directory Manager", sc.Secrets.DirectoryManager, "inetMailUser")
			if err != nil || !ok {
				t.Errorf("inetMailUser after ims_dssetup.pl: %v %v", ok, err)
			}

			if !m.pty {
				webAndDA(t, h, dir, &all)
			}
			for _, s := range secrets {
				if strings.Contains(all.String(), s) {
					t.Errorf("a secret (%d chars) is in the transcript", len(s))
				}
			}
		})
	}
}

// webAndDA upgrades the host's Web Server 6.0 SP1 and replaces its
// Delegated Administrator 1.1 by 1.2 (runbook §5 post.webserver, post.da).
func webAndDA(t *testing.T, h *simtest.Host, dir string, all *strings.Builder) {
	t.Helper()
	wsRoot := h.State.Scenario.WebServerRoot
	if wsRoot == "" {
		wsRoot = h.Root
	}
	for _, run := range []struct {
		rel string
		d   installer.Dialogue
	}{
		{"ws60sp2/setup", WebServerAnswers(wsRoot)},
		{"da12/uninstall", DAAnswers(h.Root)},
		{"da12/setup", DAAnswers(h.Root)},
	} {
		tr, err := runMedia(t, dir, run.rel, nil, run.d)
		all.WriteString(tr)
		if err != nil {
			t.Fatalf("%s: %v", run.rel, err)
		}
	}
	st := h.Reload(t)
	if st.WebServer != "6.0SP2" || st.DA != "1.2" {
		t.Errorf("Web Server %s, DA %s; want 6.0SP2, 1.2", st.WebServer, st.DA)
	}
	if m, _ := filepath.Glob(filepath.Join(wsRoot, "https-*", "config", "servlets.properties.nda")); len(m) == 0 {
		t.Errorf("the DA uninstall kept no servlets.properties.nda")
	}
}
