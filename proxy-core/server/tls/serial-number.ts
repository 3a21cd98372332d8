import { randomBytes } from 'node:crypto';

/** Serial length in bytes: 126 random bits, far above the 64 that RFC 5280 practice asks for. */
const SERIAL_BYTES = 16;

/**
 * A fresh certificate serial number as raw big-endian bytes, ready to be the content of a DER
 * INTEGER. The top bit of the first byte is cleared so the INTEGER is positive, and the next
 * bit is set so the first byte is never zero: that keeps the encoding minimal (strict DER
 * parsers reject a leading 00 before a byte below 0x80) and the length fixed.
 */
export function randomSerialNumber(): Buffer {
  const serial = randomBytes(SERIAL_BYTES);
  serial[0] = (serial[0]! & 0x7f) | 0x40;
  return serial;
}
