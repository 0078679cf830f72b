/**
 * Collects UTF-8 bytes up to `capBytes` and decodes them, dropping a character cut in
 * half at the cap. Bytes past the cap are counted, not kept, so a chatty process or a
 * large response never grows memory past the cap.
 */
export class CappedText {
  private readonly chunks: Uint8Array[] = [];
  private kept = 0;
  private total = 0;

  constructor(readonly capBytes: number) {}

  /** Returns false once the cap is reached (callers may stop reading). */
  push(chunk: Uint8Array): boolean {
    this.total += chunk.byteLength;
    const room = this.capBytes - this.kept;
    if (room > 0) {
      const part = chunk.byteLength <= room ? chunk : chunk.subarray(0, room);
      this.chunks.push(part);
      this.kept += part.byteLength;
    }
    return this.kept < this.capBytes;
  }

  get truncated(): boolean {
    return this.total > this.kept;
  }

  get totalBytes(): number {
    return this.total;
  }

  text(): string {
    const decoder = new TextDecoder('utf-8');
    let out = '';
    for (const chunk of this.chunks) out += decoder.decode(chunk, { stream: true });
    // Cut at the cap: skipping the final flush drops a character split by the cut
    // instead of turning it into U+FFFD.
    return this.truncated ? out : out + decoder.decode();
  }
}
