package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/msguard/msguard/remediate/ldapexport"
	"github.com/msguard/msguard/remediate/treebackup"

	"github.com/msguard/msguard/sim"
)

// runOp is msguard's side of one comparison, run in its own process.
func runOp(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("no op")
	}
	switch op, a := args[0], args[1:]; op {
	case "ldif": // URL PWFILE BASE FILTER OUT
		pw, err := os.ReadFile(a[1])
		if err != nil {
			return err
		}
		n, err := ldapexport.Export(ctx, ldapexport.Conn{URL: a[0], BindDN: "cn=Directory Manager",
			Password: string(pw), Timeout: time.Minute}, a[2], a[3], a[4])
		if err != nil {
			return err
		}
		fmt.Println(n)
	case "backup": // SRC DST
		if _, err := treebackup.Backup(ctx, a[0], a[1], "bench", nil); err != nil {
			return err
		}
		return treebackup.Verify(ctx, a[1], "bench")
	case "restore": // BACKUP ROOT
		return treebackup.Restore(ctx, a[0], "bench", a[1], nil)
	default:
		return fmt.Errorf("unknown op %q", op)
	}
	return nil
}

// writePolicyInput writes the policy input document opa eval reads: the
// same {snapshot, params} that msguard check evaluates.
func writePolicyInput(snapPath, out string) error {
	snap, err := os.ReadFile(snapPath)
	if err != nil {
		return err
	}
	params := fmt.Sprintf(`{"phase": "preflight", "now": %q, "media": null, "for_remediate": false, "backup_need_bytes": 0, "baseline": null}`,
		time.Now().UTC().Format(time.RFC3339))
	doc := `{"snapshot": ` + string(snap) + `, "params": ` + params + `}`
	if !json.Valid([]byte(doc)) {
		return fmt.Errorf("policy input for %s is not valid JSON", snapPath)
	}
	return os.WriteFile(out, []byte(doc), 0o644)
}

// ldapPort reads the directory port from the simulator's state.
func ldapPort(root string) (int, error) {
	st, err := sim.LoadState(root)
	if err != nil {
		return 0, err
	}
	return st.Scenario.Ports.LDAP, nil
}

// repoPolicies is the embedded policy tree on disk, for opa eval.
func repoPolicies() (rego, data string, err error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", "", err
	}
	for dir := wd; dir != "/"; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "policies", "rego")); err == nil {
			return filepath.Join(dir, "policies", "rego"), filepath.Join(dir, "policies", "data"), nil
		}
	}
	return "", "", fmt.Errorf("policies/rego not found above %s: run from the repository", wd)
}
