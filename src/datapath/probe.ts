// Kernel features the data path uses where a kernel may lack them, found by
// loading a tiny program (bpf/probe.bpf.c) rather than from the version
// number: distribution and sandbox kernels patch features in and out.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ObjectSpec, VerifierError } from '../bpf/index.js';

const here = dirname(fileURLToPath(import.meta.url));
export const defaultProbeObjectPath = join(here, '..', '..', 'build', 'bpf', 'probe.bpf.o');

let xdpMeta: boolean | undefined;

/**
 * Whether XDP programs may call bpf_xdp_adjust_meta (the GRO hand-off tags
 * frames with it). false only when the verifier refuses the helper; any other
 * failure to load the probe (no privilege, no object) is thrown as it is.
 */
export async function probeXdpMetadata(objectPath = defaultProbeObjectPath): Promise<boolean> {
  if (xdpMeta !== undefined) return xdpMeta;
  try {
    const coll = await ObjectSpec.open(objectPath, 'xvprobe').load();
    coll.close();
    xdpMeta = true;
  } catch (e) {
    if (!(e instanceof VerifierError) || !/cannot use helper bpf_xdp_adjust_meta/.test(e.log)) throw e;
    xdpMeta = false;
  }
  return xdpMeta;
}

/** The answer of an earlier probeXdpMetadata() in this process, if any. */
export function xdpMetadataProbed(): boolean | undefined {
  return xdpMeta;
}

/** What a kernel without XDP metadata costs, in one line for attach's notes. */
export const NO_XDP_METADATA_NOTE =
  'this kernel refuses bpf_xdp_adjust_meta to XDP programs, so the GRO hand-off is off: ' +
  'TCP to endpoints is redirected segment by segment';
