// Relative manifest paths: validation, sets and joins.

package treebackup

import (
	"fmt"
	"hash/maphash"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

// cleanRelPaths validates and cleans a list of relative paths (exclude or
// keep lists), accepting OS separators and a leading "./".
func cleanRelPaths(what string, in []string) ([]string, error) {
	out := make([]string, 0, len(in))
	for _, p := range in {
		c := path.Clean(filepath.ToSlash(p))
		if c == "." || checkRelPath(c) != nil {
			return nil, fmt.Errorf("%s path %q: must be relative, inside the root and not the root itself", what, p)
		}
		out = append(out, c)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// relSet is a set of relative paths with prefix queries.
type relSet map[string]bool

func newRelSet(paths []string) relSet {
	s := relSet{}
	for _, p := range paths {
		s[p] = true
	}
	return s
}

// has reports whether p is in the set.
func (s relSet) has(p string) bool { return s[p] }

// under reports whether p is in the set or below a member.
func (s relSet) under(p string) bool {
	for q := range s {
		if p == q || strings.HasPrefix(p, q+"/") {
			return true
		}
	}
	return false
}

// above reports whether a member lies strictly below directory p.
func (s relSet) above(p string) bool {
	for q := range s {
		if p == "." || strings.HasPrefix(q, p+"/") {
			return true
		}
	}
	return false
}

// manifestPathSet holds a 64-bit hash of every path of a manifest: 8 bytes
// an entry instead of the entries, so a restore or compare of a million
// files can tell which paths on disk are not in the backup. Two paths
// sharing a hash (odds about n²/2⁶⁵) would hide one extra file.
type manifestPathSet struct {
	seed   maphash.Seed
	hashes []uint64
}

func newManifestPathSet() *manifestPathSet { return &manifestPathSet{seed: maphash.MakeSeed()} }

func (s *manifestPathSet) add(p string) { s.hashes = append(s.hashes, maphash.String(s.seed, p)) }

// seal sorts the set for lookups.
func (s *manifestPathSet) seal() { slices.Sort(s.hashes) }

func (s *manifestPathSet) has(p string) bool {
	_, ok := slices.BinarySearch(s.hashes, maphash.String(s.seed, p))
	return ok
}

// relJoin joins a relative directory and a name.
func relJoin(dir, name string) string {
	if dir == "." {
		return name
	}
	return dir + "/" + name
}

// absPath maps a relative manifest path below root.
func absPath(root, rel string) string {
	if rel == "." {
		return root
	}
	return filepath.Join(root, filepath.FromSlash(rel))
}
