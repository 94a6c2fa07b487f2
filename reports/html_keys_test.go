package reports

import (
	"bufio"
	"context"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/msguard/msguard/collectors/facts"
	"github.com/msguard/msguard/judgement"
	"github.com/msguard/msguard/policies"
	"golang.org/x/net/html"
)

// judgedReport judges a saved snapshot of deploy/testdata with msguard's own
// policies, as msguard check --snapshot does.
func judgedReport(t *testing.T, snapshot, phase string) *judgement.Report {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "deploy", "testdata", snapshot))
	if err != nil {
		t.Fatal(err)
	}
	var snap facts.Snapshot
	if err := json.Unmarshal(data, &snap); err != nil {
		t.Fatal(err)
	}
	e, err := policies.New(context.Background(), policies.Config{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := e.Evaluate(context.Background(), policies.Input{Snapshot: &snap, Params: policies.Params{Phase: phase, Now: time.Now().UTC().Format(time.RFC3339)}})
	if err != nil {
		t.Fatal(err)
	}
	return policies.Report(policies.Judgement{Phase: phase, Snapshot: &snap, Result: res, StartedAt: time.Now()})
}

// keyRows walks the DOM and returns, for every element of class "key" (a
// finding key), the text of the span.title of its row (the finding's h3 or
// the Passed list's li) and, in the Passed list, its link.
func keyRows(t *testing.T, dom string) (titles map[string]string, links map[string]string) {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(dom))
	if err != nil {
		t.Fatal(err)
	}
	titles, links = map[string]string{}, map[string]string{}
	var walk func(n, row *html.Node, link string)
	walk = func(n, row *html.Node, link string) {
		if n.Type == html.ElementNode {
			switch n.Data {
			case "h3", "li":
				row = n
			case "a":
				link = attr(n, "href")
			}
			if hasClass(n, "key") {
				key := text(n)
				titles[key] = rowTitle(row)
				if link != "" {
					links[key] = link
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c, row, link)
		}
	}
	walk(doc, nil, "")
	return titles, links
}

func rowTitle(row *html.Node) string {
	if row == nil {
		return ""
	}
	var found string
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && n.Data == "span" && hasClass(n, "title") {
			found = strings.TrimSpace(text(n))
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(row)
	return found
}

func attr(n *html.Node, name string) string {
	for _, a := range n.Attr {
		if a.Key == name {
			return a.Val
		}
	}
	return ""
}

func hasClass(n *html.Node, class string) bool {
	return n.Type == html.ElementNode && strings.Contains(" "+attr(n, "class")+" ", " "+class+" ")
}

func text(n *html.Node) string {
	var b strings.Builder
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return b.String()
}

// TestHTMLKeysHaveTitlesInChromium: on the page as headless Chromium
// builds it, every finding key, passed or not, has its title beside it,
// and every passed key links to the keys' reference. The reports are those
// msguard's policies give for a 5.1 host before the upgrade and an upgraded
// host after it, and the saved fixtures.
func TestHTMLKeysHaveTitlesInChromium(t *testing.T) {
	reportsByName := map[string]*judgement.Report{
		"preflight of ready51":   judgedReport(t, "ready51.snapshot.json", "preflight"),
		"postflight of upgraded": judgedReport(t, "upgraded.snapshot.json", "postflight"),
		"preflight_not_ready":    loadFixture(t, "preflight_not_ready"),
		"postflight_healthy":     loadFixture(t, "postflight_healthy"),
	}
	for name, r := range reportsByName {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if len(r.Passed) == 0 || len(r.PassedTitles) == 0 {
				t.Fatalf("%s: no passed keys with titles to check (passed %v)", name, r.Passed)
			}
			titles, links := keyRows(t, dumpDOM(t, render(t, "html", r)))
			want := len(r.Passed)
			for _, f := range r.Findings {
				if _, ok := titles[f.Key]; !ok {
					want++
				}
			}
			if len(titles) < want || len(titles) == 0 {
				t.Errorf("the page shows %d keys; the report has %d", len(titles), want)
			}
			for key, title := range titles {
				if title == "" {
					t.Errorf("key %s has no title on the page", key)
				}
			}
			for _, k := range r.Passed {
				if titles[k] != r.PassedTitles[k] {
					t.Errorf("passed key %s shows title %q; want %q", k, titles[k], r.PassedTitles[k])
				}
				if links[k] != KeyReference {
					t.Errorf("passed key %s links to %q; want %s", k, links[k], KeyReference)
				}
			}
		})
	}
}

// TestKeyReferenceAnchor: the keys' reference link names a heading of
// docs/runbook.md (by the anchor GitHub gives a heading) that holds the
// finding-key table.
func TestKeyReferenceAnchor(t *testing.T) {
	u, err := url.Parse(KeyReference)
	if err != nil || !strings.HasSuffix(u.Path, "/docs/runbook.md") || u.Fragment == "" {
		t.Fatalf("KeyReference %q is not a link to a section of docs/runbook.md", KeyReference)
	}
	f, err := os.Open(filepath.Join("..", "docs", "runbook.md"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	punct := regexp.MustCompile(`[^\p{L}\p{N} _-]`)
	var section string
	found, keyRowsUnder := false, 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			heading := strings.TrimSpace(strings.TrimLeft(line, "#"))
			section = strings.ReplaceAll(punct.ReplaceAllString(strings.ToLower(heading), ""), " ", "-")
			found = found || section == u.Fragment
			continue
		}
		if section == u.Fragment && strings.HasPrefix(line, "| `preflight.") {
			keyRowsUnder++
		}
	}
	if !found || keyRowsUnder < 10 {
		t.Errorf("docs/runbook.md has no heading with the anchor #%s holding the finding-key table (%d key rows)", u.Fragment, keyRowsUnder)
	}
}
