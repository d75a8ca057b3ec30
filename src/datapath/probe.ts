// The data path's questions to the kernel probes (all in src/bpf/probe.ts,
// found by loading tiny programs, not from the version number).
import { hasXdpAdjustMeta } from '../bpf/index.js';

/**
 * Whether XDP programs may call bpf_xdp_adjust_meta (the GRO hand-off tags
 * frames with it); cached. false where the verifier refuses the helper
 * (this VM's 6.18.44-fc kernel does); no privilege is thrown as it is.
 */
export async function probeXdpMetadata(): Promise<boolean> {
  return hasXdpAdjustMeta();
}

/** What a kernel without XDP metadata costs, in one line for attach's notes. */
export const NO_XDP_METADATA_NOTE =
  'this kernel refuses bpf_xdp_adjust_meta to XDP programs, so the GRO hand-off is off: ' +
  'TCP to endpoints is redirected segment by segment';
