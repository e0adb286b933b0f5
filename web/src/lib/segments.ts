// Counts SMS segments exactly as the server does (src/messaging/encoding.cpp):
// GSM-7 (3GPP TS 23.038 default alphabet, the ten extension characters cost
// 2 septets) when every character fits, else UCS-2 (characters outside the
// BMP cost 2 units). One segment holds 160 septets or 70 units; parts of a
// long message 153 or 67, and no part splits an escape or a surrogate pair.
const BASIC =
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?' +
  '¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà';
const EXTENSION = '\f^{}\\[~]|€';
const basic = new Set([...BASIC, 'ç']);
basic.delete('\x1b');
const extension = new Set([...EXTENSION]);

export function gsm7Septets(ch: string): number {
  if (basic.has(ch)) return 1;
  if (extension.has(ch)) return 2;
  return 0;
}

export interface SegmentCount {
  encoding: 'GSM-7' | 'UCS-2';
  segments: number;
  characters: number;
  units: number;
  unitsPerSegment: number;
  unitsRemaining: number;
}

class Parts {
  parts = 1;
  used = 0;
  constructor(readonly capacity: number) {}
  add(w: number) {
    if (this.used + w > this.capacity) {
      this.parts++;
      this.used = 0;
    }
    this.used += w;
  }
}

export function countSegments(text: string): SegmentCount {
  let characters = 0;
  let septets = 0;
  let units = 0;
  let gsm = true;
  const gsmParts = new Parts(153);
  const ucsParts = new Parts(67);
  for (const ch of text) {
    characters++;
    if (gsm) {
      const w = gsm7Septets(ch);
      if (w === 0) gsm = false;
      else {
        septets += w;
        gsmParts.add(w);
      }
    }
    const u = ch.codePointAt(0)! > 0xffff ? 2 : 1;
    units += u;
    ucsParts.add(u);
  }
  const single = gsm ? 160 : 70;
  const total = gsm ? septets : units;
  const parts = gsm ? gsmParts : ucsParts;
  if (total <= single) {
    return { encoding: gsm ? 'GSM-7' : 'UCS-2', segments: 1, characters, units: total, unitsPerSegment: single, unitsRemaining: single - total };
  }
  return {
    encoding: gsm ? 'GSM-7' : 'UCS-2',
    segments: parts.parts,
    characters,
    units: total,
    unitsPerSegment: parts.capacity,
    unitsRemaining: parts.capacity - parts.used,
  };
}
