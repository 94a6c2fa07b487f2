package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/msguard/msguard/sim"
)

// writePolicyInput writes the policy input document opa eval reads: the
// same {snapshot, params} that msguard check evaluates.
func writePolicyInput(snapPath, out string) error {
	snap, err := os.ReadFile(snapPath)
	if err != nil {
		return err
	}
	params := fmt.Sprintf(`{"phase": "preflight", "now": %q, "media": null, "for_remediate": false, "backup_need_bytes": 0, "restore_need_bytes": 0, "baseline": null}`,
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
