/**
 * A Buffer made in C++ (by an addon, or by Node for a received datagram) has another object
 * shape than one made in JS, and V8 compiles each function for the shapes it has seen: fed
 * both, the hot paths run polymorphic code, and code compiled for one deoptimizes at the first
 * of the other. Buffers entering the hot paths are therefore viewed as JS-made ones first (a
 * view: the bytes are not copied).
 */
export function jsBuffer(b: Buffer): Buffer {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}
