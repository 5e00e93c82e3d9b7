package fairway

import (
	"context"
	"time"
)

// Lane states, derived from the lane's tasks and never stored.
const (
	LaneMoving  = "moving"
	LaneWaiting = "waiting"
	LaneIdle    = "idle"
)

// Lane is a stream of work. Its tasks' keys are generated from KeyPrefix.
type Lane struct {
	Name        string    `json:"name"`
	KeyPrefix   string    `json:"key_prefix,omitempty"`
	Description string    `json:"description,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
	CreatedBy   string    `json:"created_by"`
}

// LaneState is a lane with its derived state: moving, waiting (and on what),
// or idle when it has no unfinished task.
type LaneState struct {
	Lane
	State string `json:"state"`
	// WaitingOn lists the wait reasons that hold the lane, sorted.
	WaitingOn []string `json:"waiting_on,omitempty"`
	// Counts holds the number of tasks per status.
	Counts map[string]int `json:"counts"`
	// Ready is the number of open tasks whose dependencies are done.
	Ready int `json:"ready"`
}

// LaneCreate is the input to create a lane.
type LaneCreate struct {
	Name        string `json:"name"`
	KeyPrefix   string `json:"key_prefix,omitempty"`
	Description string `json:"description,omitempty"`
}

var laneNameRE = lazyRegexp(`^[a-z0-9][a-z0-9._-]{0,62}$`)

// ValidateLaneName checks a lane name.
func ValidateLaneName(field, name string) error {
	if !laneNameRE().MatchString(name) {
		return FieldError(field, "%q is not a valid lane name: use 1-63 lower-case letters, digits, '.', '_' or '-'", clip(name))
	}
	return nil
}

// Validate checks the input fields.
func (c *LaneCreate) Validate() error {
	if err := ValidateLaneName("name", c.Name); err != nil {
		return err
	}
	if c.KeyPrefix != "" {
		if err := ValidateKey("key_prefix", c.KeyPrefix); err != nil {
			return err
		}
	}
	return CheckText("description", c.Description, 2000)
}

// LaneService manages lanes.
type LaneService interface {
	CreateLane(ctx context.Context, c LaneCreate) (*Lane, error)
	GetLane(ctx context.Context, name string) (*LaneState, error)
	ListLanes(ctx context.Context) ([]*LaneState, error)
}
