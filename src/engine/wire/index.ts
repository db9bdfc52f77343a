/** The wire codec of conntrackd's sync protocol (shared/spec/conntrackd.md §1). */
export { NET_F, NET_T, NETHDR_ACK_SIZ, NETHDR_SIZ, PROTOCOL_VERSION, after, before, hasRange, isCtl, isData } from './nethdr.js';
export type { NetHeader } from './nethdr.js';
export { NTA, NTA_EXP, NTA_EXP_MAX, NTA_MAX } from './attributes.js';
export { MessageBuilder, buildOptionsFrom } from './build.js';
export type { BuildOptions } from './build.js';
export { parseConntrack, parseExpectation } from './parse.js';
export { DatagramBatcher } from './batcher.js';
export { MsgResult, ReceivePipeline, newNetworkStats } from './receive.js';
export type { ExternalHandler, MessageReceiver } from './receive.js';
export { SeqCounter, SeqTrack, SequenceTracker } from './sequence.js';
