package audit

import (
	"bytes"
	"github.com/msguard/msguard/judgement"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/msguard/msguard/collectors/facts"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// parseMetrics parses text exposition format with Prometheus' own parser.
func parseMetrics(t *testing.T, b []byte) map[string]*dto.MetricFamily {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("parse metrics: %v\n%s", err, b)
	}
	return fams
}

// value returns the gauge value of the series of family name whose labels include want.
func value(fams map[string]*dto.MetricFamily, name string, want map[string]string) (float64, bool) {
	f, ok := fams[name]
	if !ok {
		return 0, false
	}
	for _, m := range f.GetMetric() {
		match := 0
		for _, l := range m.GetLabel() {
			if v, ok := want[l.GetName()]; ok && v == l.GetValue() {
				match++
			}
		}
		if match == len(want) {
			return m.GetGauge().GetValue(), true
		}
	}
	return 0, false
}

func TestMetricsParse(t *testing.T) {
	oldest := t0.Add(-90 * time.Minute)
	r := report(t0, judgement.VerdictUnhealthy,
		judgement.Finding{Key: "postflight.msg.not_running", Severity: judgement.SeverityDeny},
		judgement.Finding{Key: "audit.disk.alarm", Severity: judgement.SeverityWarn},
		judgement.Finding{Key: "audit.disk.alarm", Severity: judgement.SeverityWarn},
		judgement.Finding{Key: `odd "key"\`, Severity: judgement.SeverityError},
		judgement.Finding{Key: "audit.baseline.pab", Severity: judgement.SeverityDeny, Waived: &judgement.Waived{Reason: "r"}},
	)
	r.FactsErrors = []facts.FactsError{{Collector: "ldap", Error: "refused"}}
	r.Audit = &judgement.AuditStats{Queue: &facts.QueueCounts{Messages: 4, Oldest: &oldest},
		QueueChannels: map[string]int64{"tcp_local": 3, "ims-ms": 1}}
	path := filepath.Join(t.TempDir(), "msguard.prom")
	if err := WriteMetricsFile(path, r); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	fams := parseMetrics(t, b)
	tests := []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"msguard_findings", map[string]string{"key": "postflight.msg.not_running", "severity": "deny"}, 1},
		{"msguard_findings", map[string]string{"key": "audit.disk.alarm", "severity": "warn"}, 2},
		{"msguard_findings", map[string]string{"key": `odd "key"\`, "severity": "error"}, 1},
		{"msguard_findings", map[string]string{"key": "audit.baseline.pab", "severity": "waived"}, 1},
		{"msguard_verdict", map[string]string{"phase": "audit", "verdict": "unhealthy"}, 1},
		{"msguard_verdict", map[string]string{"phase": "audit", "verdict": "healthy"}, 0},
		{"msguard_queue_messages", map[string]string{"channel": "tcp_local"}, 3},
		{"msguard_queue_messages", map[string]string{"channel": "ims-ms"}, 1},
		{"msguard_queue_oldest_age_seconds", nil, 5400},
		{"msguard_last_run_timestamp_seconds", nil, float64(t0.Unix())},
		{"msguard_collector_errors", map[string]string{"collector": "ldap"}, 1},
		{"msguard_collector_errors", map[string]string{"collector": "queue"}, 0},
	}
	for _, tc := range tests {
		got, ok := value(fams, tc.name, tc.labels)
		if !ok || got != tc.want {
			t.Errorf("%s%v = %v (found %v); want %v", tc.name, tc.labels, got, ok, tc.want)
		}
	}
	for name, f := range fams {
		if f.GetType() != dto.MetricType_GAUGE {
			t.Errorf("%s is %v; want gauge", name, f.GetType())
		}
	}
}

func TestMetricsWithoutQueue(t *testing.T) {
	var b bytes.Buffer
	if err := WriteMetrics(&b, report(t0, judgement.VerdictHealthy)); err != nil {
		t.Fatal(err)
	}
	fams := parseMetrics(t, b.Bytes())
	if _, ok := fams["msguard_queue_messages"]; ok {
		t.Errorf("queue metrics without queue facts: an unknown queue must not read as empty")
	}
	if v, ok := value(fams, "msguard_verdict", map[string]string{"verdict": "healthy"}); !ok || v != 1 {
		t.Errorf("verdict healthy = %v %v", v, ok)
	}
}
