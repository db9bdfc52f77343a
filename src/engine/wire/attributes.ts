/**
 * TLV attribute ids and the lengths receivers demand (shared/spec/conntrackd.md §1.5, §1.6,
 * §1.8). `nta_len` is the unpadded length incl. the 4-byte header; a fixed-size attribute
 * must match exactly, a variable one must not exceed its maximum.
 */

export const NTA_HDR = 4;
export const NTA_ALIGNTO = 4;

export function ntaAlign(len: number): number {
  return (len + NTA_ALIGNTO - 1) & ~(NTA_ALIGNTO - 1);
}

/** `enum nta_attr` (conntrack). */
export const NTA = {
  IPV4: 0,
  IPV6: 1,
  L4PROTO: 2,
  PORT: 3,
  TCP_STATE: 4,
  STATUS: 5,
  TIMEOUT: 6,
  MARK: 7,
  MASTER_IPV4: 8,
  MASTER_IPV6: 9,
  MASTER_L4PROTO: 10,
  MASTER_PORT: 11,
  SNAT_IPV4: 12,
  DNAT_IPV4: 13,
  SPAT_PORT: 14,
  DPAT_PORT: 15,
  NAT_SEQ_ADJ: 16,
  SCTP_STATE: 17,
  SCTP_VTAG_ORIG: 18,
  SCTP_VTAG_REPL: 19,
  DCCP_STATE: 20,
  DCCP_ROLE: 21,
  ICMP_TYPE: 22,
  ICMP_CODE: 23,
  ICMP_ID: 24,
  TCP_WSCALE_ORIG: 25,
  TCP_WSCALE_REPL: 26,
  HELPER_NAME: 27,
  LABELS: 28,
  SNAT_IPV6: 29,
  DNAT_IPV6: 30,
  SYNPROXY: 31,
  ZONE: 32,
} as const;

export const NTA_MAX = 33;

/** `enum nta_exp_attr` (expectations). */
export const NTA_EXP = {
  MASTER_IPV4: 0,
  MASTER_IPV6: 1,
  MASTER_L4PROTO: 2,
  MASTER_PORT: 3,
  EXPECT_IPV4: 4,
  EXPECT_IPV6: 5,
  EXPECT_L4PROTO: 6,
  EXPECT_PORT: 7,
  MASK_IPV4: 8,
  MASK_IPV6: 9,
  MASK_L4PROTO: 10,
  MASK_PORT: 11,
  TIMEOUT: 12,
  FLAGS: 13,
  CLASS: 14,
  NAT_IPV4: 15,
  NAT_PORT: 16,
  NAT_L4PROTO: 17,
  NAT_DIR: 18,
  HELPER_NAME: 19,
  FN: 20,
} as const;

export const NTA_EXP_MAX = 21;

/** Receiver limit for helper names incl. the header (`NFCT_HELPER_NAME_MAX`): ≤ 11 chars + NUL. */
export const HELPER_NAME_MAX = 16;
export const EXP_FN_MAX = 32;
export const LABELS_MAX = 1028;

/**
 * Per id: a positive value is the exact `nta_len` of a fixed-size attribute, a negative one
 * the maximum `nta_len` of a variable attribute.
 */
export const CT_ATTR_LEN: Int16Array = Int16Array.from([
  12, 36, 5, 8, 5, 8, 8, 8, // IPV4 … MARK
  12, 36, 5, 8, // MASTER_*
  8, 8, 6, 6, 28, // SNAT_IPV4, DNAT_IPV4, SPAT, DPAT, NAT_SEQ_ADJ
  5, 8, 8, 5, 5, // SCTP_STATE, VTAGs, DCCP_STATE, DCCP_ROLE
  5, 5, 6, 5, 5, // ICMP_TYPE, ICMP_CODE, ICMP_ID, WSCALEs
  -HELPER_NAME_MAX, -LABELS_MAX, 20, 20, 16, 6, // HELPER, LABELS, SNAT/DNAT_IPV6, SYNPROXY, ZONE
]);

export const EXP_ATTR_LEN: Int16Array = Int16Array.from([
  12, 36, 5, 8, // MASTER_*
  12, 36, 5, 8, // EXPECT_*
  12, 36, 5, 8, // MASK_*
  8, 8, 8, // TIMEOUT, FLAGS, CLASS
  12, 8, 5, 8, // NAT_IPV4, NAT_PORT, NAT_L4PROTO, NAT_DIR
  -HELPER_NAME_MAX, -EXP_FN_MAX,
]);
