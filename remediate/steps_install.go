package remediate

import (
	"github.com/msguard/msguard/remediate/installer"

	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/msguard/msguard/collectors/parse"
)

// ---- §3 and §4: installers ---------------------------------------------------

func (p *planner) setupOptions(components string) SetupOptions {
	return SetupOptions{
		Root: p.h.Root, Components: components, ConfigLDAPURL: p.h.ConfigLDAPURL,
		AdminID: p.o.AdminID, AdminPassword: p.o.AdminPassword,
		ServiceAdminID: p.serviceAdminID(), ServiceAdminPassword: p.o.ServiceAdminPassword,
	}
}

func (p *planner) serviceAdminID() string {
	if p.o.ServiceAdminID != "" {
		return p.o.ServiceAdminID
	}
	return p.h.ServiceAdminID
}

// directoryUp fails with the runbook's reason when the directory cannot
// be reached and bound: setup -k and ims_dssetup.pl write to it, and it
// must run during the whole upgrade (runbook §1). Checking first turns an
// installer's own confused failure into a clear stop.
func (p *planner) directoryUp(ctx context.Context) error {
	conn, err := p.o.LDAP.Dial(ctx)
	if err != nil {
		return fmt.Errorf("the Directory Server %s is down or refuses the bind; it must run during the whole upgrade (runbook §1), so the installer was not started: %w", p.o.LDAP.URL, err)
	}
	conn.Close()
	return nil
}

// drive runs an installer of the media through its dialogue, keeping a
// transcript (secrets redacted) in the backup directory.
func (p *planner) drive(ctx context.Context, id string, d installer.Dialogue, prog string, args ...string) error {
	if p.media == nil || p.media.Path == "" {
		return errors.New("no installer media (--media)")
	}
	if err := p.directoryUp(ctx); err != nil {
		return err
	}
	if d.PromptTimeout == 0 {
		d.PromptTimeout = p.o.DialogueTimeout
	}
	tdir := filepath.Join(p.dir, "transcripts")
	if err := os.MkdirAll(tdir, 0o700); err != nil {
		return err
	}
	t, err := os.OpenFile(filepath.Join(tdir, id+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer t.Close()
	fmt.Fprintf(t, "=== %s %s %s\n", time.Now().UTC().Format(time.RFC3339), prog, strings.Join(args, " "))
	cmd := exec.CommandContext(ctx, filepath.Join(p.media.Path, prog), args...)
	cmd.Dir = filepath.Dir(cmd.Path)
	if dir, ok := ctx.Value(workDirKey{}).(string); ok {
		cmd.Dir = dir
	}
	if err := installer.Drive(ctx, cmd, d, t); err != nil {
		return fmt.Errorf("%s: %w (transcript: %s)", prog, err, t.Name())
	}
	return nil
}

func (p *planner) dsSteps() []*Step {
	ds := &Step{ID: "ds.setup", Title: "upgrade the Directory Server to 4.16: setup -k, components 1, 2, 3", Destructive: true}
	for _, id := range p.h.SlapdIDs {
		ds.Commands = append(ds.Commands, fmt.Sprintf("cd %s && %s -k   (components 1, 2, 3)", filepath.Join(p.h.Root, "slapd-"+id), filepath.Join(p.mediaPath(), "msg52", "setup")))
	}
	save := &Step{ID: "ds.save_installinf", Title: "save the install.inf that setup -k produced",
		Commands: []string{fmt.Sprintf("cp %s %s", filepath.Join(p.h.Root, "setup", "install.inf"), filepath.Join(p.dir, "post", "install.inf.ds-setup"))}}
	dssetup := &Step{ID: "ds.dssetup", Title: "prepare the directory for 5.2: ims_dssetup.pl (schema, indexes, o=pab)", Destructive: true,
		Commands: []string{filepath.Join(p.mediaPath(), "msg52", "ims_dssetup.pl")}}
	if !p.h.dsNeedsUpgrade() {
		why := fmt.Sprintf("Directory Server is already %s", p.h.DSVersion)
		if len(p.h.SlapdIDs) == 0 {
			why = "the directory is on another server root or host"
		}
		ds.Skip, save.Skip, dssetup.Skip = why, why, why+" (post.dssetup runs ims_dssetup.pl)"
		return []*Step{ds, save, dssetup}
	}
	// setup -k upgrades the shared binaries and the instance whose
	// directory it is started from: once from each slapd-* directory
	// (layout.md), each checked apart, so a resumed run skips the done ones.
	ds.check = func(ctx context.Context) (bool, error) { return p.proveDSUpgraded(ctx) == nil, nil }
	ds.do = func(ctx context.Context) error {
		for _, id := range p.h.SlapdIDs {
			if v, err := p.instanceDSVersion(ctx, id); err == nil && !versionLess(v, "4.16") {
				continue
			}
			dir := filepath.Join(p.h.Root, "slapd-"+id)
			if err := p.drive(context.WithValue(ctx, workDirKey{}, dir), "ds.setup-slapd-"+id, SetupAnswers(p.setupOptions(DSComponents)), "msg52/setup", "-k"); err != nil {
				return fmt.Errorf("slapd-%s: %w", id, err)
			}
		}
		return nil
	}
	ds.verify = p.proveDSUpgraded
	infSrc, infDst := filepath.Join(p.h.Root, "setup", "install.inf"), filepath.Join(p.dir, "post", "install.inf.ds-setup")
	save.check = func(context.Context) (bool, error) { return sameFile(infSrc, infDst) == nil, nil }
	save.do = func(context.Context) error {
		if err := os.MkdirAll(filepath.Dir(infDst), 0o700); err != nil {
			return err
		}
		return copyFile(infSrc, infDst, 0o600)
	}
	save.verify = func(context.Context) error { return sameFile(infSrc, infDst) }
	dssetup.check = p.dssetupDone
	dssetup.do = p.runDSSetup
	dssetup.verify = p.proveDSSetup
	return []*Step{ds, save, dssetup}
}

// workDirKey carries the working directory an installer must start in.
type workDirKey struct{}

// proveDSUpgraded proves that the shared Directory Server binaries and
// every slapd instance read 4.16 or later.
func (p *planner) proveDSUpgraded(ctx context.Context) error {
	v, err := p.dsVersionNow(ctx)
	if err != nil {
		return err
	}
	if versionLess(v, "4.16") {
		return fmt.Errorf("setup -k exited 0 but ns-slapd -v still says Directory Server %s", v)
	}
	for _, id := range p.h.SlapdIDs {
		iv, err := p.instanceDSVersion(ctx, id)
		if err != nil {
			return err
		}
		if versionLess(iv, "4.16") {
			return fmt.Errorf("slapd-%s is still a Directory Server %s instance: setup -k was not run from %s", id, iv, filepath.Join(p.h.Root, "slapd-"+id))
		}
	}
	return nil
}

// instanceDSVersion is the version of the slapd-<id> instance: [slapd]
// Version= of DSINST/config/instance.inf, which setup -k rewrites for the
// instance it upgrades; without that file, the shared binaries' version.
func (p *planner) instanceDSVersion(ctx context.Context, id string) (string, error) {
	f, err := os.Open(filepath.Join(p.h.Root, "slapd-"+id, "config", "instance.inf"))
	if os.IsNotExist(err) {
		return p.dsVersionNow(ctx)
	}
	if err != nil {
		return "", err
	}
	defer f.Close()
	inf, err := parse.INF(f)
	if err != nil {
		return "", fmt.Errorf("%s: %w", f.Name(), err)
	}
	v := strings.TrimSpace(inf["slapd"]["Version"])
	if v == "" {
		return "", fmt.Errorf("%s has no [slapd] Version", f.Name())
	}
	return v, nil
}

// userInstanceIndex is the number ims_dssetup.pl gives the user/group
// directory's instance in its list of slapd-* instances (sorted by name).
func (p *planner) userInstanceIndex() int {
	ids := slices.Clone(p.h.SlapdIDs)
	slices.Sort(ids)
	for i, id := range ids {
		if serverURL(p.o.LDAP.URL) != "" && p.h.SlapdURLs[id] == serverURL(p.o.LDAP.URL) {
			return i + 1
		}
	}
	return 1
}

func (p *planner) runDSSetup(ctx context.Context) error {
	return p.drive(ctx, "dssetup", DSSetupAnswers(DSSetupOptions{
		Root: p.h.Root, InstanceIndex: p.userInstanceIndex(), DMDN: p.o.LDAP.BindDN, DMPassword: p.o.LDAP.Password, Suffix: p.h.UserSuffix,
	}), "msg52/ims_dssetup.pl")
}

// externalDSSetupMissing is the error for a directory on another host
// that lacks ims_dssetup.pl's effects.
func (p *planner) externalDSSetupMissing() error {
	return fmt.Errorf("the directory %s is not in this server root and lacks ims_dssetup.pl's schema (inetMailUser) or o=pab: run msg52/ims_dssetup.pl from the 5.2 media on the directory's own host first", p.o.LDAP.URL)
}

// dssetupDone asks the directory whether ims_dssetup's effects are there.
func (p *planner) dssetupDone(ctx context.Context) (bool, error) {
	schema, pab, err := ldapDSSetupState(ctx, p.o.LDAP)
	if err != nil {
		return false, nil
	}
	return schema && pab, nil
}

// proveDSSetup fails unless the directory shows ims_dssetup.pl's effects:
// the inetMailUser object class and the o=pab entry.
func (p *planner) proveDSSetup(ctx context.Context) error {
	schema, pab, err := ldapDSSetupState(ctx, p.o.LDAP)
	if err != nil {
		return fmt.Errorf("read the directory's schema and o=pab: %w", err)
	}
	var missing []string
	if !schema {
		missing = append(missing, "the inetMailUser object class")
	}
	if !pab {
		missing = append(missing, "the o=pab entry")
	}
	if len(missing) > 0 {
		return fmt.Errorf("ims_dssetup.pl exited 0 but %s lacks %s", p.o.LDAP.URL, strings.Join(missing, " and "))
	}
	return nil
}

var dsVersionRe = regexp.MustCompile(`(?i)Directory/(\d+\.\d+)`)

func (p *planner) dsVersionNow(ctx context.Context) (string, error) {
	out, err := runScript(ctx, 30*time.Second, filepath.Join(p.h.Root, "bin", "slapd", "server", "ns-slapd"), "-v")
	if err != nil {
		return "", err
	}
	m := dsVersionRe.FindStringSubmatch(out)
	if m == nil {
		return "", fmt.Errorf("ns-slapd -v printed no version: %s", tail(out, 2))
	}
	return m[1], nil
}

var msgVersionRe = regexp.MustCompile(`Messaging Server (\d+\.\d+)`)

func (p *planner) msgVersionNow(ctx context.Context) (string, error) {
	out, err := runScript(ctx, 30*time.Second, filepath.Join(p.h.InstDir, "imsimta"), "version")
	if err != nil {
		return "", err
	}
	m := msgVersionRe.FindStringSubmatch(out)
	if m == nil {
		return "", fmt.Errorf("imsimta version printed no version: %s", tail(out, 2))
	}
	return m[1], nil
}

func (p *planner) msgStep() *Step {
	components := "1, 2, 3, 4"
	if p.h.dsNeedsUpgrade() || (p.h.DSVersion != "" && !versionLess(p.h.DSVersion, "4.16")) || len(p.h.SlapdIDs) == 0 {
		components = "1, 3, 4"
	}
	s := &Step{ID: "msg.setup", Title: fmt.Sprintf("upgrade Messaging Server: setup -k, components %s, [2] Upgrade", components), Destructive: true,
		Commands: []string{filepath.Join(p.mediaPath(), "msg52", "setup") + " -k"}}
	s.check = func(ctx context.Context) (bool, error) {
		v, err := p.msgVersionNow(ctx)
		return err == nil && v == "5.2", nil
	}
	s.do = func(ctx context.Context) error {
		return p.drive(ctx, "msg.setup", SetupAnswers(p.setupOptions(components)), "msg52/setup", "-k")
	}
	s.verify = func(ctx context.Context) error {
		v, err := p.msgVersionNow(ctx)
		if err != nil {
			return err
		}
		if v != "5.2" {
			return fmt.Errorf("imsimta version says %s after setup -k", v)
		}
		return nil
	}
	return s
}
