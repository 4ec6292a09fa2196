/**
 * The Jupyter wire protocol (messaging spec 5.3), the part a comm layer needs: split a ZeroMQ multipart message
 * into routing identities, signature, the four JSON frames and binary buffers; sign and assemble one.
 *
 * The signature is HMAC over the four JSON frames only (header, parent header, metadata, content) — buffers are
 * not signed (jupyter_client's Session.sign). tslab 1.0's own parser signs every frame after the delimiter, so a
 * front end's message with buffers fails its check; ours follows the spec, which is why comm messages are parsed
 * here and never handed to tslab.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'crypto';

export const DELIM = Buffer.from('<IDS|MSG>');

export type JsonObject = { [k: string]: unknown };

export interface Header {
  msg_id: string;
  msg_type: string;
  session: string;
  username: string;
  date: string;
  version: string;
  [k: string]: unknown;
}

export interface WireMessage {
  identities: Buffer[];
  header: Header;
  parent: Partial<Header>;
  metadata: JsonObject;
  content: JsonObject;
  buffers: Buffer[];
}

export interface Signer {
  key: string;
  /** e.g. "hmac-sha256" (the only scheme tslab writes and Jupyter uses). */
  scheme: string;
}

function digest(signer: Signer, frames: (Buffer | string)[]): string {
  if (signer.key === '') return '';
  // Stryker disable next-line Regex: "hmac-" begins the scheme names Jupyter uses and occurs nowhere else in them
  const algo = signer.scheme.replace(/^hmac-/, '');
  const h = createHmac(algo, signer.key);
  for (const f of frames) h.update(f);
  return h.digest('hex');
}

/** Why a raw message is not acceptable, or the message. Never throws. */
export function parseWire(signer: Signer, raw: Buffer[]): WireMessage | { error: string } {
  const at = raw.findIndex((b) => b.equals(DELIM));
  if (at < 0) return { error: 'no <IDS|MSG> delimiter' };
  if (raw.length < at + 6) return { error: `${raw.length - at - 1} frames after the delimiter; at least 5 are needed (signature, header, parent, metadata, content)` };
  const sig = raw[at + 1].toString();
  const frames = raw.slice(at + 2, at + 6);
  const want = digest(signer, frames);
  const a = Buffer.from(sig);
  const b = Buffer.from(want);
  if (a.length !== b.length || !timingSafeEqual(a, b)) return { error: 'bad signature' };
  const parts: JsonObject[] = [];
  for (const [i, f] of frames.entries()) {
    let v: unknown;
    try {
      v = JSON.parse(f.toString());
    } catch {
      return { error: `frame ${['header', 'parent header', 'metadata', 'content'][i]} is not JSON` };
    }
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return { error: `frame ${['header', 'parent header', 'metadata', 'content'][i]} is not a JSON object` };
    parts.push(v as JsonObject);
  }
  const header = parts[0] as Header;
  if (typeof header.msg_type !== 'string') return { error: 'header has no msg_type' };
  return { identities: raw.slice(0, at), header, parent: parts[1] as Partial<Header>, metadata: parts[2], content: parts[3], buffers: raw.slice(at + 6) };
}

/** Just the header's msg_type, without checking anything (to decide who handles a message). */
export function peekType(raw: Buffer[]): string | undefined {
  const at = raw.findIndex((b) => b.equals(DELIM));
  // Stryker disable next-line LogicalOperator,ArithmeticOperator: a shortcut (so are its conditions dropped, which StrykerJS still counts): a missing frame throws below and is caught
  if (at < 0 || raw.length < at + 3) return undefined;
  try {
    const h: unknown = JSON.parse(raw[at + 2].toString());
    return typeof h === 'object' && h !== null ? String((h as JsonObject).msg_type) : undefined;
  } catch {
    return undefined;
  }
}

export function newHeader(msgType: string, session: string, username = 'kernel'): Header {
  return { msg_id: randomBytes(16).toString('hex'), msg_type: msgType, session, username, date: new Date().toISOString(), version: '5.3' };
}

/** The frames of a signed message. */
export function assembleWire(signer: Signer, msg: Omit<WireMessage, 'buffers'> & { buffers?: (Buffer | Uint8Array)[] }): Buffer[] {
  const frames = [msg.header, msg.parent, msg.metadata, msg.content].map((o) => Buffer.from(JSON.stringify(o)));
  return [...msg.identities, DELIM, Buffer.from(digest(signer, frames)), ...frames, ...(msg.buffers ?? []).map((b) => Buffer.from(b.buffer, b.byteOffset, b.byteLength))];
}
