package judgement

import (
	"time"

	"github.com/msguard/msguard/collectors/facts"
)

// AuditStats are the numbers an audit report keeps besides its findings, so
// that a history of reports can show trends (queue depth) and metrics can
// be derived from a saved report alone. Only `msguard audit` sets them.
type AuditStats struct {
	// Baseline is the baseline snapshot file compared with ("" = none).
	Baseline string `json:"baseline,omitempty"`
	// BaselineCollectedAt is when the baseline snapshot was taken.
	BaselineCollectedAt *time.Time `json:"baseline_collected_at,omitempty"`
	// Since is the restart time after the upgrade: older log records are history.
	Since *time.Time `json:"since,omitempty"`
	// Queue is the queue total now; nil when the queue collector failed.
	Queue *facts.QueueCounts `json:"queue,omitempty"`
	// QueueChannels maps each queue channel to its number of messages.
	QueueChannels map[string]int64 `json:"queue_channels,omitempty"`
}
