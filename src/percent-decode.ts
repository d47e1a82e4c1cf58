/**
 * Percent-decoding as Bun.serve does it for a route's `:param` and a cookie's value: UTF-8, and a
 * bad escape (`%zz`) or bad UTF-8 (`%E2%82`) becomes U+FFFD where decodeURIComponent would throw.
 */
const STRICT_UTF8 = new TextDecoder("utf-8", { fatal: true });
const ENCODER = new TextEncoder();

/** A hex digit's value, or -1. */
function hexValue(byte: number): number {
  if (byte >= 0x30 && byte <= 0x39) return byte - 0x30;
  const lower = byte | 0x20;
  return lower >= 0x61 && lower <= 0x66 ? lower - 0x61 + 10 : -1;
}

export function percentDecode(text: string): string {
  if (!text.includes("%")) return text;
  try {
    return decodeURIComponent(text);
  } catch {
    // Bun decodes the text's UTF-8 bytes: an escape is "%" and the two bytes after it ("%é" takes
    // "%" and é's two bytes), and an invalid one is 0xFF, never UTF-8, so U+FFFD, as Bun gives for
    // "%zz"; a "%" less than two bytes from the end stands alone ("x%2" is "x", U+FFFD, "2").
    const input = ENCODER.encode(text);
    const bytes: number[] = [];
    for (let i = 0; i < input.length; i++) {
      const byte = input[i] as number;
      if (byte !== 0x25 || i + 2 >= input.length) {
        bytes.push(byte === 0x25 ? 0xff : byte);
        continue;
      }
      const high = hexValue(input[i + 1] as number);
      const low = hexValue(input[i + 2] as number);
      bytes.push(high < 0 || low < 0 ? 0xff : high * 16 + low);
      i += 2;
    }
    return decodeAsBun(bytes);
  }
}

/**
 * UTF-8 with Bun's replacement rule: a lead byte and the continuation bytes that follow it, up to the
 * length it announces, are one sequence, and one U+FFFD replaces a sequence that is cut short or not
 * a character (overlong, a surrogate, past U+10FFFF). A TextDecoder replaces each maximal invalid
 * part instead (`%ED%A0%80`: three U+FFFD where Bun gives one).
 */
function decodeAsBun(bytes: number[]): string {
  let out = "";
  for (let i = 0; i < bytes.length; ) {
    const lead = bytes[i] as number;
    const size = lead < 0x80 ? 1 : lead < 0xc0 ? 0 : lead < 0xe0 ? 2 : lead < 0xf0 ? 3 : lead < 0xf8 ? 4 : 0;
    if (size < 2) {
      out += size === 1 ? String.fromCharCode(lead) : "\uFFFD";
      i++;
      continue;
    }
    let end = i + 1;
    while (end < i + size && end < bytes.length && ((bytes[end] as number) & 0xc0) === 0x80) end++;
    let char = "\uFFFD";
    if (end === i + size) {
      try {
        char = STRICT_UTF8.decode(new Uint8Array(bytes.slice(i, end)));
      } catch {
        // Not a character: one U+FFFD for the whole sequence.
      }
    }
    out += char;
    i = end;
  }
  return out;
}
