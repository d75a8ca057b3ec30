// Numeric bounds of the format that more than one module needs.

export const VNI_MAX = 0xffffff;
/** Upper bound for any map capacity: 2^24 FDB entries is already gigabytes of kernel memory. */
export const CAPACITY_MAX = 1 << 24;
/** Smallest useful underlay MTU: IPv4's 68-byte minimum inside 50 bytes of VXLAN over IPv4. */
export const MTU_MIN = 68 + 50;
/** RFC 8200 minimum link MTU. */
export const MTU_MIN_V6 = 1280;
