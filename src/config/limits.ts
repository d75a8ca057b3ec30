// Numeric bounds of the format that more than one module needs.

export const VNI_MAX = 0xffffff;
/** Upper bound for any map capacity: 2^24 FDB entries is already gigabytes of kernel memory. */
export const CAPACITY_MAX = 1 << 24;
/** Smallest useful underlay MTU: IPv4's 68-byte minimum inside 50 bytes of VXLAN over IPv4. */
export const MTU_MIN = 68 + 50;
/** RFC 8200 minimum link MTU. */
export const MTU_MIN_V6 = 1280;
/**
 * Largest config file read at all: V8 strings stop at about 512 MiB, and a
 * JSON file this size already lists millions of entries.
 */
export const CONFIG_MAX_BYTES = 512 * 1024 * 1024;
/**
 * Largest YAML text parsed: the YAML parser needs about 80 times the text in
 * memory and 1 s per 20k entries (a 16 MiB file: ~300k FDB entries, ~1.3 GB,
 * ~16 s). Larger configs are written as JSON, which costs a tenth of that.
 */
export const YAML_MAX_BYTES = 16 * 1024 * 1024;
