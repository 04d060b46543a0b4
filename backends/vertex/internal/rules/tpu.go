// Package rules holds the documented rules of Vertex AI that backends/vertex
// follows and that its fake (vertextest) enforces: TPU machine specs, the
// text-embedding token budget, batch prediction limits. Each rule names its
// source; the wire-conformance tests check generated requests against them.
package rules

import (
	"fmt"
	"strings"
)

// ConfigureComputeDoc is the source of the TPU rules: "Configure compute
// resources for custom training", section TPUs (fetched 2026; mirrored as
// docs.cloud.google.com/gemini-enterprise-agent-platform/machine-learning/training/configure-compute).
const ConfigureComputeDoc = "https://cloud.google.com/vertex-ai/docs/training/configure-compute#tpu"

// tpuVMTopologies lists, per TPU VM machine type, the topologies the
// document's tables allow for custom training (TPU v5e, v6e and 7x). These
// machine types take machineSpec.machineType and machineSpec.tpuTopology
// only: the document sets no acceleratorType or acceleratorCount for them.
var tpuVMTopologies = map[string][]string{
	// TPU v5e table.
	"ct5lp-hightpu-1t": {"1x1"},
	"ct5lp-hightpu-4t": {"2x2", "2x4", "4x4", "4x8", "8x8", "8x16", "16x16"},
	"ct5lp-hightpu-8t": {"2x4"},
	// TPU v6e table.
	"ct6e-standard-1t": {"1x1"},
	"ct6e-standard-4t": {"2x2", "2x4", "4x4", "4x8", "8x8", "8x16", "16x16"},
	"ct6e-standard-8t": {"2x4"},
	// TPU 7x table.
	"tpu7x-standard-4t": {"2x2x1", "2x2x2", "2x2x4", "2x4x4", "4x4x4", "4x4x8", "4x8x8", "8x8x8", "8x8x16"},
}

// IsTPU reports whether a machine spec uses a TPU: machine type cloud-tpu,
// a TPU VM machine type, or a TPU accelerator.
func IsTPU(machineType, accelerator string) bool {
	_, vm := tpuVMTopologies[machineType]
	return machineType == "cloud-tpu" || vm || strings.HasPrefix(accelerator, "TPU_")
}

// CheckMachine returns why a machine spec breaks the TPU rules of
// ConfigureComputeDoc, or "" when it keeps them. accelerator is an
// aiplatform AcceleratorType name ("" or "ACCELERATOR_TYPE_UNSPECIFIED" for
// none). Non-TPU machines pass unless they carry a TPU accelerator or a
// topology.
func CheckMachine(machineType, accelerator string, count int, topology string) string {
	if accelerator == "ACCELERATOR_TYPE_UNSPECIFIED" {
		accelerator = ""
	}
	topos, vm := tpuVMTopologies[machineType]
	switch {
	case machineType == "":
		return "machine type is empty"
	case machineType == "cloud-tpu":
		// "TPU v2 and v3": machineType cloud-tpu, acceleratorType TPU_V2 with
		// acceleratorCount 8 (single TPU) or 32 or a multiple of 32 (TPU
		// Pods), or TPU_V3 with 8 or 32+; replicaCount 1. No topology.
		if topology != "" {
			return fmt.Sprintf("cloud-tpu takes no TPU topology (got %q): the slice size is the accelerator count", topology)
		}
		switch accelerator {
		case "TPU_V2":
			if count != 8 && (count < 32 || count%32 != 0) {
				return fmt.Sprintf("cloud-tpu with TPU_V2 needs accelerator count 8, or a multiple of 32 for a TPU Pod, not %d", count)
			}
		case "TPU_V3":
			if count != 8 && count < 32 {
				return fmt.Sprintf("cloud-tpu with TPU_V3 needs accelerator count 8, or 32 or more for a TPU Pod, not %d", count)
			}
		case "TPU_V4_POD":
			return "TPU_V4_POD is not a TPU that Vertex AI custom training configures (the documented ones are TPU v2 and v3 on cloud-tpu, and v5e, v6e and 7x machine types such as ct5lp-hightpu-4t)"
		default:
			return fmt.Sprintf("cloud-tpu needs accelerator TPU_V2 or TPU_V3, not %q", accelerator)
		}
	case vm:
		// "TPU v5e" / "TPU v6e" / "TPU 7x": machineType and tpuTopology from
		// the table; the accelerator is implied by the machine type.
		if accelerator != "" || count != 0 {
			return fmt.Sprintf("%s takes a TPU topology and no accelerator type or count (got %q × %d): the machine type names the TPU", machineType, accelerator, count)
		}
		if topology == "" {
			return fmt.Sprintf("%s needs a TPU topology (one of %s)", machineType, strings.Join(topos, ", "))
		}
		for _, t := range topos {
			if t == topology {
				return ""
			}
		}
		return fmt.Sprintf("%s does not come in topology %q (want one of %s)", machineType, topology, strings.Join(topos, ", "))
	case strings.HasPrefix(machineType, "ct5lp-") || strings.HasPrefix(machineType, "ct6e-") || strings.HasPrefix(machineType, "tpu7x-"):
		return fmt.Sprintf("%s is not a TPU machine type of the custom training tables (ct5lp-hightpu-1t|4t|8t, ct6e-standard-1t|4t|8t, tpu7x-standard-4t)", machineType)
	case strings.HasPrefix(accelerator, "TPU_"):
		return fmt.Sprintf("accelerator %s needs a TPU machine type (cloud-tpu for TPU_V2/TPU_V3; ct5lp-hightpu-* for v5e), not %q", accelerator, machineType)
	case topology != "":
		return fmt.Sprintf("TPU topology %q needs a TPU machine type, not %q", topology, machineType)
	}
	return ""
}

// CheckTrainingPool returns why a custom job's worker pools break the rule
// of ConfigureComputeDoc that "when you use a TPU VM ... you must only use
// a single worker pool for custom training, and you must configure this
// worker pool to use only one replica", or "".
func CheckTrainingPool(pools int, tpu bool, replicas int) string {
	if !tpu {
		return ""
	}
	if pools != 1 {
		return fmt.Sprintf("a TPU job has exactly one worker pool, not %d", pools)
	}
	if replicas != 1 {
		return fmt.Sprintf("a TPU worker pool has replica count 1, not %d", replicas)
	}
	return ""
}

// ServeTPUDoc shows a deployment on a TPU VM machine type without a
// topology ("gcloud ai endpoints deploy-model ... --machine-type=ct5lp-hightpu-4t"):
// "Serve Gemma open models using TPUs on Vertex AI with Saxml".
const ServeTPUDoc = "https://cloud.google.com/vertex-ai/docs/predictions/serve-gemma-with-saxml-tpu"

// CheckServingMachine is CheckMachine for a deployed model's machine: a
// single-host TPU VM machine type may leave the topology out (ServeTPUDoc).
func CheckServingMachine(machineType, accelerator string, count int, topology string) string {
	if accelerator == "ACCELERATOR_TYPE_UNSPECIFIED" {
		accelerator = ""
	}
	if _, vm := tpuVMTopologies[machineType]; vm && topology == "" && accelerator == "" && count == 0 {
		return ""
	}
	return CheckMachine(machineType, accelerator, count, topology)
}
