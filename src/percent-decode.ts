/**
 * Percent-decoding as Bun.serve does it for a route's `:param` and a cookie's value: UTF-8, and a
 * bad escape (`%zz`) or bad UTF-8 (`%E2%82`) becomes U+FFFD where decodeURIComponent would throw.
 */
const STRICT_UTF8 = new TextDecoder("utf-8", { fatal: true });

export function percentDecode(text: string): string {
  if (!text.includes("%")) return text;
  try {
    return decodeURIComponent(text);
  } catch {
    const bytes: number[] = [];
    for (let i = 0; i < text.length; i++) {
      const hex = text.slice(i + 1, i + 3);
      if (text[i] === "%") {
        // 0xFF is never UTF-8: it decodes to U+FFFD, as Bun does for "%zz". Bun takes the two
        // characters after a "%" as its escape, valid or not, but a "%" one character from the
        // end stands alone: "%2" is U+FFFD then "2".
        bytes.push(/^[0-9a-fA-F]{2}$/.test(hex) ? Number.parseInt(hex, 16) : 0xff);
        if (hex.length === 2) i += 2;
      } else {
        bytes.push(...new TextEncoder().encode(text[i]));
      }
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
