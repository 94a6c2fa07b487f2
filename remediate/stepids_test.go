package remediate

import (
	"github.com/msguard/msguard/internal/doctable"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/msguard/msguard/collectors/facts"
)

// runbookDoc is the step-id and finding-key reference.
const runbookDoc = "../docs/runbook.md"

// stepIDsHeading opens the section of runbookDoc whose tables list every
// step id (docs/runbook.md, "How the tables are read").
const stepIDsHeading = "## Step ids"

// docTableIDs reads the ids of a section of the docs (package doctable)
// with their line numbers.
func docTableIDs(path, heading string) (map[string]int, error) {
	rows, err := doctable.Read(path, heading)
	if err != nil {
		return nil, err
	}
	ids := map[string]int{}
	for id, r := range rows {
		ids[id] = r.Line
	}
	return ids, nil
}

// backoutIDs are the ids of runbook §7's steps as the package's code names
// them: the string literals "backout.<word>" of its non-test files (the
// backout runs them from a fixed list, not from a Plan).
func backoutIDs(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`^backout\.[a-z0-9_]+$`)
	fset := token.NewFileSet()
	seen := map[string]bool{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING {
				if s, err := strconv.Unquote(lit.Value); err == nil && re.MatchString(s) {
					seen[s] = true
				}
			}
			return true
		})
	}
	var out []string
	for id := range seen {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

// planVariants are synthetic hosts that together take every branch of
// BuildPlan: each cluster kind, the optional products with and without
// media, the Directory Server before and at 4.16, an empty and a full
// queue, a mounted and a plain store, one, two and no local slapd
// instances. BuildPlan only builds closures, so nothing runs.
func planVariants() map[string]struct {
	h     HostInfo
	media *MediaInfo
} {
	base := func() HostInfo {
		return HostInfo{
			Root: "/usr/iplanet/server5", WSRoot: "/usr/iplanet/server5", Instance: "budgie",
			InstDir: "/usr/iplanet/server5/msg-budgie", Host: "mail.siroe.com",
			SlapdIDs: []string{"budgie"}, MsgVersion: "5.1", DSVersion: "4.16",
			StorePath:     "/usr/iplanet/server5/msg-budgie/store/partition/primary",
			ConfigLDAPURL: "ldap://mail.siroe.com:389/o=NetscapeRoot", ServiceAdminID: "ServiceAdmin",
			UserSuffix: "o=siroe.com",
		}
	}
	media := &MediaInfo{Path: "/cdrom/ims52", Version: "5.2"}
	full := &MediaInfo{Path: "/cdrom/ims52", Version: "5.2", WebServer: true, DA: true, SCIMS: true}
	type variant = struct {
		h     HostInfo
		media *MediaInfo
	}
	v := map[string]variant{}
	v["no HA, DS 4.16, empty queue, plain store, one slapd"] = variant{base(), media}
	v["no media at all"] = variant{base(), nil}

	h := base()
	h.HA = "none"
	v["HA none"] = variant{h, media}

	h = base()
	h.HA = "sc22"
	v["Sun Cluster 2.2"] = variant{h, media}

	h = base()
	h.HA, h.HADeps = "vcs", []string{"mail -> logical_IP", "mail -> mountshared"}
	v["Veritas, with dependencies"] = variant{h, media}
	h = base()
	h.HA = "vcs"
	v["Veritas, no dependencies"] = variant{h, media}

	h = base()
	h.HA, h.HANodes = "sc3", []string{"budgie", "budgie2"}
	v["Sun Cluster 3, SUNWscims on the media"] = variant{h, &MediaInfo{Path: "/cdrom/ims52", Version: "5.2", SCIMS: true}}
	h = base()
	h.HA = "sc3"
	v["Sun Cluster 3, no SUNWscims"] = variant{h, media}

	h = base()
	h.WebServer, h.DA = "6.0SP1", "1.1"
	h.HasWebAdmin, h.WebInstances = true, []string{"https-mail.siroe.com"}
	v["Web Server 6.0SP1 and DA 1.1 with media"] = variant{h, full}
	v["Web Server 6.0SP1 and DA 1.1 without their media"] = variant{h, media}
	h = base()
	h.WebServer, h.DA = "6.0SP2", "1.2"
	h.HasWebAdmin, h.WebInstances = true, []string{"https-mail.siroe.com"}
	v["Web Server 6.0SP2 and DA 1.2 already"] = variant{h, full}
	h = base()
	h.WebServer = "4.1"
	v["Web Server 4.1 (migration)"] = variant{h, full}

	h = base()
	h.DSVersion = "4.13"
	v["DS 4.13"] = variant{h, media}
	h = base()
	h.DSVersion, h.SlapdIDs = "4.13", []string{"budgie", "config"}
	h.SlapdURLs = map[string]string{"budgie": "ldap://mail.siroe.com:389", "config": "ldap://mail.siroe.com:390"}
	v["DS 4.13, two slapd instances"] = variant{h, media}
	h = base()
	h.SlapdIDs = []string{"budgie", "config"}
	v["DS 4.16, two slapd instances"] = variant{h, media}
	h = base()
	h.SlapdIDs, h.DSVersion = nil, ""
	v["directory on another host"] = variant{h, media}

	h = base()
	h.QueueMessages = 24
	v["queue not empty"] = variant{h, media}

	h = base()
	h.StoreMount = &facts.StoreMount{Path: h.StorePath, MountPoint: true, Device: "/dev/loop0", FSType: "ext4", Options: "rw,relatime"}
	v["store mounted"] = variant{h, media}
	return v
}

// TestStepIDsDocumented compares the step ids of the code with the step-id
// tables of docs/runbook.md, both ways: every id a plan (any variant, skipped
// steps included) or the backout uses is documented, and every documented id
// is one the code uses. Step ids are a public contract (journal, ablation
// points, operators' notes): a rename must show up here.
func TestStepIDsDocumented(t *testing.T) {
	documented, err := docTableIDs(runbookDoc, stepIDsHeading)
	if err != nil {
		t.Fatal(err)
	}

	code := map[string]string{} // id -> the variant (or "backout") that uses it
	names := make([]string, 0)
	variants := planVariants()
	for name := range variants {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		v := variants[name]
		h := v.h
		plan := BuildPlan(&h, &Options{}, v.media, "/var/backups/msguard/test", "run1")
		if len(plan.Steps) == 0 {
			t.Fatalf("%s: BuildPlan returned no steps", name)
		}
		for _, s := range plan.Steps {
			if s.ID == "" {
				t.Errorf("%s: a step has no id (title %q)", name, s.Title)
				continue
			}
			if _, ok := code[s.ID]; !ok {
				code[s.ID] = name
			}
		}
	}
	bo := backoutIDs(t)
	if len(bo) != 5 {
		t.Errorf("the backout code names %d step ids %v; runbook §7 has five (backout.stop, backout.store_off, backout.restore, backout.store_on, backout.start)", len(bo), bo)
	}
	for _, id := range bo {
		code[id] = "backout"
	}

	var ids []string
	for id := range code {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		if _, ok := documented[id]; !ok {
			t.Errorf("step id %s (used by: %s) is not in the step-id tables of %s (under %q)", id, code[id], runbookDoc, stepIDsHeading)
		}
	}
	var docIDs []string
	for id := range documented {
		docIDs = append(docIDs, id)
	}
	sort.Strings(docIDs)
	for _, id := range docIDs {
		if _, ok := code[id]; !ok {
			t.Errorf("%s:%d documents step id %s, but no plan variant builds it and the backout does not use it (renamed or removed?)", runbookDoc, documented[id], id)
		}
	}
	if t.Failed() {
		t.Logf("step ids in the code: %s", strings.Join(ids, " "))
	}
}

// TestStepIDsDocParser checks the table convention itself: the rows the
// parser accepts and the ones it refuses.
func TestStepIDsDocParser(t *testing.T) {
	dir := t.TempDir()
	write := func(body string) string {
		p := filepath.Join(dir, "doc.md")
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := "# t\n## Step ids\n\n### §1\n| id | action |\n|---|---|\n| `stop.admin` | stop `ROOT/stop-admin` |\n| `stop.msg` | x |\n\n## Other\n| `not.read` | x |\n"
	ids, err := docTableIDs(write(good), "## Step ids")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for id := range ids {
		got = append(got, id)
	}
	sort.Strings(got)
	if !slices.Equal(got, []string{"stop.admin", "stop.msg"}) {
		t.Errorf("ids %v, want [stop.admin stop.msg]", got)
	}
	for name, body := range map[string]string{
		"no backticks":   "## Step ids\n| id | a |\n|---|---|\n| stop.admin | x |\n",
		"two tokens":     "## Step ids\n| id | a |\n|---|---|\n| `stop.admin` `stop.msg` | x |\n",
		"duplicate":      "## Step ids\n| id | a |\n|---|---|\n| `stop.admin` | x |\n| `stop.admin` | y |\n",
		"bad shape":      "## Step ids\n| id | a |\n|---|---|\n| `Stop admin` | x |\n",
		"no heading":     "## Steps\n| id | a |\n|---|---|\n| `stop.admin` | x |\n",
		"empty section":  "## Step ids\n\n## Other\n| `stop.admin` | x |\n",
		"twice the head": "## Step ids\n| id | a |\n|---|---|\n| `stop.admin` | x |\n## Step ids\n",
	} {
		if _, err := docTableIDs(write(body), "## Step ids"); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
