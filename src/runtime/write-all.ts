/** Writes all of `bytes` with a synchronous `write` that may take only part of them per call. */
export function writeAll(bytes: Uint8Array, write: (chunk: Uint8Array) => number): void {
  for (let done = 0; done < bytes.length; ) {
    const n = write(done === 0 ? bytes : bytes.subarray(done));
    if (n <= 0) throw new Error("write made no progress");
    done += n;
  }
}
