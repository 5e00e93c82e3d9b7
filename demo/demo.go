// Package demo holds the seed's GPUaaS governance scenario as data: the
// policy, and the lanes, tasks and evidence that the demo loads.
package demo

import _ "embed"

// Policy is the GPUaaS governance policy (governance.yaml).
//
//go:embed governance.yaml
var Policy []byte

// UATSuite is the full kind UAT check suite (kind-uat.yaml): one probe
// per coverage area, the terminal one mutating.
//
//go:embed kind-uat.yaml
var UATSuite []byte
