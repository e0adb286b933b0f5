// Numbers, money and times, as users read them.

// Formats a phone number as it is typed or shown: North American numbers as
// (415) 555-0132 / +1 415 555 0132, others as + and groups of digits.
export function formatPhone(input: string, defaultCountry = 'US'): string {
  const plus = input.trim().startsWith('+');
  const d = input.replace(/[^\d*#]/g, '');
  if (/[*#]/.test(d)) return d;
  const nanp = defaultCountry === 'US' || defaultCountry === 'CA';
  if (plus && d.startsWith('1') && d.length <= 11) return '+1 ' + groupNanp(d.slice(1), false);
  if (!plus && nanp && d.length <= 10) return groupNanp(d, true);
  if (plus) return '+' + d.replace(/(\d{1,3})(?=(\d{3})+$)/g, '$1 ').trim();
  return d;
}

function groupNanp(d: string, parens: boolean): string {
  if (d.length <= 3) return parens && d.length === 3 ? `(${d})` : d;
  if (d.length <= 6) return parens ? `(${d.slice(0, 3)}) ${d.slice(3)}` : `${d.slice(0, 3)} ${d.slice(3)}`;
  return parens
    ? `(${d.slice(0, 3)}) ${d.slice(3, 6)}-${d.slice(6)}`
    : `${d.slice(0, 3)} ${d.slice(3, 6)} ${d.slice(6)}`;
}

// E.164 for display: +14155550132 → +1 (415) 555-0132.
export function displayNumber(e164: string | null | undefined): string {
  if (!e164) return 'Unknown';
  const m = /^\+1(\d{3})(\d{3})(\d{4})$/.exec(e164);
  if (m) return `(${m[1]}) ${m[2]}-${m[3]}`;
  return e164.startsWith('+') ? formatPhone(e164) : e164;
}

// Dialled digits → what the API takes (it normalises national numbers in
// the tenant's default country itself).
export function dialString(input: string): string {
  const plus = input.trim().startsWith('+');
  return (plus ? '+' : '') + input.replace(/[^\d]/g, '');
}

export function money(micros: number | null | undefined, currency = 'USD'): string {
  const v = (micros ?? 0) / 1_000_000;
  try {
    return new Intl.NumberFormat(undefined, { style: 'currency', currency, maximumFractionDigits: 4, minimumFractionDigits: 2 }).format(v);
  } catch {
    return `${v.toFixed(2)} ${currency}`;
  }
}

export function shortTime(iso: string | null | undefined, now = new Date()): string {
  if (!iso) return '';
  const d = new Date(iso);
  const sameDay = d.toDateString() === now.toDateString();
  if (sameDay) return d.toLocaleTimeString(undefined, { hour: 'numeric', minute: '2-digit' });
  const days = (now.getTime() - d.getTime()) / 86_400_000;
  if (days < 6) return d.toLocaleDateString(undefined, { weekday: 'short' });
  return d.toLocaleDateString(undefined, { month: 'short', day: 'numeric' });
}

export function dateTime(iso: string | null | undefined): string {
  if (!iso) return '';
  return new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

export function duration(s: number): string {
  const m = Math.floor(s / 60);
  const r = Math.floor(s % 60);
  return `${m}:${String(r).padStart(2, '0')}`;
}
