// Byte budget of a pull page (our extension `maxBytes`, see docs/protocol.md, 'Response size').
// Shared by both stores so the page they return is the same for the same rows.
//
// A page holds entries while its whole response body stays within `maxBytes`: ENVELOPE_RESERVE
// bytes are kept for the JSON around the entries (`{"events":[`, the cursors and `remaining`),
// and every entry counts as its stored bytes plus ENTRY_OVERHEAD (the separator and the
// `"syncLevel":1` the events pull splices in). An entry that could not fit even alone is sent as
// a placeholder `{"guid", "timestamp", "tooLarge": <its stored bytes>}` and the page moves past
// it. A page always holds at least one entry (or placeholder), so it always makes progress.

export const ENVELOPE_RESERVE = 256;
export const ENTRY_OVERHEAD = 16;
export const MIN_MAX_BYTES = 512;

// The largest stored body that can be sent as itself under `maxBytes`.
export function maxEntryBytes(maxBytes) {
  return maxBytes - ENVELOPE_RESERVE - ENTRY_OVERHEAD;
}

export function placeholder(row) {
  return Buffer.from(JSON.stringify({ guid: row.guid, timestamp: row.timestamp, tooLarge: row.size }));
}

// rows: {seq, guid, timestamp, size, body: Buffer | null (null when over maxEntryBytes)}, in
// position order, at most limit + 1 of them. Returns {rows, more}; a placeholder row gets its
// body replaced by the placeholder's bytes and `tooLarge: true`.
export function takeWithinBudget(rows, limit, maxBytes) {
  const out = [];
  let used = ENVELOPE_RESERVE;
  for (const row of rows) {
    if (out.length === limit) return { rows: out, more: true };
    const body = row.body ?? placeholder(row);
    const cost = body.length + ENTRY_OVERHEAD;
    if (out.length > 0 && used + cost > maxBytes) return { rows: out, more: true };
    used += cost;
    out.push(row.body ? { seq: row.seq, body } : { seq: row.seq, body, tooLarge: true });
  }
  return { rows: out, more: false };
}
