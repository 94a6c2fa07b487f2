package policies

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/msguard/msguard/internal/exitcode"
	"gopkg.in/yaml.v3"
)

// loadData merges the embedded data files (policies/data/*.yaml, in name
// order) and then the operator's files over them: objects merge key by
// key, anything else is replaced.
func loadData(extra []string) (map[string]any, error) {
	data := map[string]any{}
	names, err := fs.Glob(embedded, "data/*.yaml")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	for _, n := range names {
		b, err := fs.ReadFile(embedded, n)
		if err != nil {
			return nil, err
		}
		doc, err := decodeData(n, b)
		if err != nil {
			return nil, err
		}
		merge(data, doc)
	}
	for _, p := range extra {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, exitcode.Usagef("data file %s: %v", p, unwrap(err))
		}
		doc, err := decodeData(p, b)
		if err != nil {
			return nil, err
		}
		merge(data, doc)
	}
	return data, nil
}

// decodeData reads YAML (or JSON, which is YAML) into JSON-compatible values.
func decodeData(name string, b []byte) (map[string]any, error) {
	var doc map[string]any
	if strings.EqualFold(filepath.Ext(name), ".json") {
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		if err := dec.Decode(&doc); err != nil {
			return nil, exitcode.Usagef("data file %s: %v", name, err)
		}
		return doc, nil
	}
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, exitcode.Usagef("data file %s: %v", name, err)
	}
	// Round-trip through JSON so YAML's types (ints, dates) become JSON's.
	j, err := json.Marshal(doc)
	if err != nil {
		return nil, exitcode.Usagef("data file %s: %v", name, err)
	}
	doc = nil
	if err := json.Unmarshal(j, &doc); err != nil {
		return nil, fmt.Errorf("data file %s: %w", name, err)
	}
	return doc, nil
}

func merge(dst, src map[string]any) {
	for k, v := range src {
		if sm, ok := v.(map[string]any); ok {
			if dm, ok := dst[k].(map[string]any); ok {
				merge(dm, sm)
				continue
			}
		}
		dst[k] = v
	}
}
