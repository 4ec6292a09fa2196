/**
 * Fast tests of the Jupyter wire format (src/comm/wire.ts) and the widget HTML helpers (src/widgets/html.ts),
 * in-process. Expected signatures come from the messaging spec's rule computed here with Node's crypto
 * (HMAC over header, parent header, metadata, content — not the buffers); expected HTML from hand-worked cases.
 */
import { expect } from 'chai';
import { readFileSync } from 'fs';
import * as path from 'path';
import { decode, distDir, encode, header, hmacHex, wireModule } from './fakeKernel';
import type { WidgetServer } from '../../src/widgets/server';

type HtmlModule = typeof import('../../src/widgets/html');
const html = require(path.join(distDir, 'widgets/html.js')) as HtmlModule;
const wire = wireModule();

const signer = { key: 'k3y', scheme: 'hmac-sha256' };

describe('wire format (messaging spec 5.3)', () => {
  it('DELIM is the spec\'s delimiter frame', () => {
    expect(wire.DELIM.toString()).to.equal('<IDS|MSG>');
  });

  it('parses a signed message: identities before the delimiter, four JSON frames, buffers after (unsigned)', () => {
    const h = header('comm_msg');
    const frames = encode('k3y', { identities: [Buffer.from('id-a'), Buffer.from('id-b')], header: h, parent: { msg_id: 'p1' }, metadata: { m: 1 }, content: { comm_id: 'c', data: { x: [1, 2] } }, buffers: [Buffer.from([1, 2, 3]), Buffer.alloc(0)] });
    const m = wire.parseWire(signer, frames);
    if ('error' in m) throw new Error(m.error);
    expect(m.identities.map(String)).to.deep.equal(['id-a', 'id-b']);
    expect(m.header).to.deep.equal(h);
    expect(m.parent).to.deep.equal({ msg_id: 'p1' });
    expect(m.metadata).to.deep.equal({ m: 1 });
    expect(m.content).to.deep.equal({ comm_id: 'c', data: { x: [1, 2] } });
    expect(m.buffers.map((b) => [...b])).to.deep.equal([[1, 2, 3], []]);
  });

  it('accepts exactly five frames after the delimiter (no buffers, no identities)', () => {
    const m = wire.parseWire(signer, encode('k3y', { header: header('comm_close'), content: {} }));
    if ('error' in m) throw new Error(m.error);
    expect(m.identities).to.deep.equal([]);
    expect(m.buffers).to.deep.equal([]);
    expect(m.header.msg_type).to.equal('comm_close');
  });

  it('says what is missing: no delimiter, too few frames', () => {
    expect(wire.parseWire(signer, [Buffer.from('x'), Buffer.from('{}')])).to.deep.equal({ error: 'no <IDS|MSG> delimiter' });
    const frames = encode('k3y', { header: header('comm_msg'), content: {} });
    expect(wire.parseWire(signer, frames.slice(0, 5))).to.deep.equal({ error: '4 frames after the delimiter; at least 5 are needed (signature, header, parent, metadata, content)' });
    // Identities before the delimiter are not counted as frames after it.
    const routed = [Buffer.from('id-1'), Buffer.from('id-2'), ...frames.slice(0, 4)];
    expect(wire.parseWire(signer, routed)).to.deep.equal({ error: '3 frames after the delimiter; at least 5 are needed (signature, header, parent, metadata, content)' });
    expect(wire.parseWire(signer, [Buffer.from('<IDS|MSG>')])).to.have.property('error').that.match(/^0 frames after/);
  });

  it('rejects a wrong signature, a truncated one, and one made with another key; the buffers are not signed', () => {
    const frames = encode('k3y', { header: header('comm_msg'), content: { a: 1 }, buffers: [Buffer.from('b')] });
    const tampered = [...frames];
    tampered[5] = Buffer.from(JSON.stringify({ a: 2 }));
    expect(wire.parseWire(signer, tampered)).to.deep.equal({ error: 'bad signature' });
    const short = [...frames];
    short[1] = Buffer.from(frames[1].toString().slice(0, 10));
    expect(wire.parseWire(signer, short)).to.deep.equal({ error: 'bad signature' });
    expect(wire.parseWire({ key: 'other', scheme: 'hmac-sha256' }, frames)).to.deep.equal({ error: 'bad signature' });
    // Another buffer does not change the signature (jupyter_client's Session.sign covers the four JSON frames only).
    expect(wire.parseWire(signer, [...frames, Buffer.from('more')])).to.not.have.property('error');
    // Same length, other hex digits: still refused.
    const flipped = [...frames];
    const sig = frames[1].toString();
    flipped[1] = Buffer.from((sig[0] === 'a' ? 'b' : 'a') + sig.slice(1));
    expect(wire.parseWire(signer, flipped)).to.deep.equal({ error: 'bad signature' });
  });

  it('an empty key means unsigned messages (empty signature frame), and then a signature is refused', () => {
    const unsigned = encode('', { header: header('comm_msg'), content: {} });
    expect(unsigned[1].toString()).to.equal('');
    expect(wire.parseWire({ key: '', scheme: 'hmac-sha256' }, unsigned)).to.not.have.property('error');
    expect(wire.parseWire({ key: '', scheme: 'hmac-sha256' }, encode('k3y', { header: header('comm_msg'), content: {} }))).to.deep.equal({ error: 'bad signature' });
  });

  it('takes the hash from the scheme name (hmac-sha512)', () => {
    const h = header('comm_msg');
    const four = [h, {}, {}, {}].map((o) => Buffer.from(JSON.stringify(o)));
    const frames = [Buffer.from('<IDS|MSG>'), Buffer.from(hmacHex('k', four, 'sha512')), ...four];
    expect(wire.parseWire({ key: 'k', scheme: 'hmac-sha512' }, frames)).to.not.have.property('error');
    expect(wire.parseWire({ key: 'k', scheme: 'hmac-sha256' }, frames)).to.deep.equal({ error: 'bad signature' });
  });

  it('names the frame that is not JSON or not a JSON object, and a header without msg_type', () => {
    const sign = (four: string[]): Buffer[] => {
      const b = four.map((s) => Buffer.from(s));
      return [Buffer.from('<IDS|MSG>'), Buffer.from(hmacHex('k3y', b)), ...b];
    };
    const h = JSON.stringify(header('comm_msg'));
    expect(wire.parseWire(signer, sign(['{', '{}', '{}', '{}']))).to.deep.equal({ error: 'frame header is not JSON' });
    expect(wire.parseWire(signer, sign([h, 'x', '{}', '{}']))).to.deep.equal({ error: 'frame parent header is not JSON' });
    expect(wire.parseWire(signer, sign([h, '{}', '[]', '{}']))).to.deep.equal({ error: 'frame metadata is not a JSON object' });
    expect(wire.parseWire(signer, sign([h, '{}', '{}', 'null']))).to.deep.equal({ error: 'frame content is not a JSON object' });
    expect(wire.parseWire(signer, sign([h, '{}', '{}', '7']))).to.deep.equal({ error: 'frame content is not a JSON object' });
    expect(wire.parseWire(signer, sign([h, '{}', '{x', '{}']))).to.deep.equal({ error: 'frame metadata is not JSON' });
    expect(wire.parseWire(signer, sign([h, '{}', '{}', '']))).to.deep.equal({ error: 'frame content is not JSON' });
    expect(wire.parseWire(signer, sign(['[]', '{}', '{}', '{}']))).to.deep.equal({ error: 'frame header is not a JSON object' });
    expect(wire.parseWire(signer, sign([h, 'null', '{}', '{}']))).to.deep.equal({ error: 'frame parent header is not a JSON object' });
    expect(wire.parseWire(signer, sign(['{"msg_type":3}', '{}', '{}', '{}']))).to.deep.equal({ error: 'header has no msg_type' });
  });

  it('peekType reads the header\'s msg_type without checking the signature', () => {
    const frames = encode('other-key', { identities: [Buffer.from('i')], header: header('comm_open'), content: {} });
    expect(wire.peekType(frames)).to.equal('comm_open');
    expect(wire.peekType([Buffer.from('<IDS|MSG>'), Buffer.from('sig'), Buffer.from('{"msg_type":"execute_request"}')])).to.equal('execute_request');
    expect(wire.peekType([Buffer.from('<IDS|MSG>'), Buffer.from('sig')])).to.equal(undefined);
    expect(wire.peekType([Buffer.from('{"msg_type":"x"}')])).to.equal(undefined);
    expect(wire.peekType([Buffer.from('<IDS|MSG>'), Buffer.from('sig'), Buffer.from('not json')])).to.equal(undefined);
    expect(wire.peekType([Buffer.from('<IDS|MSG>'), Buffer.from('sig'), Buffer.from('null')])).to.equal(undefined);
    expect(wire.peekType([Buffer.from('<IDS|MSG>'), Buffer.from('sig'), Buffer.from('"comm_msg"')])).to.equal(undefined);
  });

  it('newHeader: a fresh 32-hex msg_id, the type, session, username, an ISO date of now, version 5.3', () => {
    const before = Date.now();
    const a = wire.newHeader('comm_msg', 'sess');
    const b = wire.newHeader('status', 'sess', 'me');
    expect(a.msg_id).to.match(/^[0-9a-f]{32}$/);
    expect(b.msg_id).to.not.equal(a.msg_id);
    expect(a).to.include({ msg_type: 'comm_msg', session: 'sess', username: 'kernel', version: '5.3' });
    expect(b.username).to.equal('me');
    const t = Date.parse(a.date);
    expect(t).to.be.within(before - 1000, Date.now() + 1000);
    expect(a.date).to.equal(new Date(t).toISOString());
  });

  it('assembleWire signs the four JSON frames by the spec and appends the buffers, Uint8Array views exactly', () => {
    const h = header('comm_msg');
    const backing = new Uint8Array([9, 8, 7, 6, 5]);
    const frames = wire.assembleWire(signer, { identities: [Buffer.from('who')], header: h as never, parent: { msg_id: 'p' }, metadata: { v: 1 }, content: { d: 'x' }, buffers: [backing.subarray(1, 3), Buffer.from('zz')] });
    expect(frames[0].toString()).to.equal('who');
    expect(frames[1].toString()).to.equal('<IDS|MSG>');
    const four = frames.slice(2 + 1, 2 + 5);
    expect(frames[2].toString()).to.equal(hmacHex('k3y', four));
    const d = decode('k3y', frames);
    expect(d.header).to.deep.equal(h);
    expect(d.parent).to.deep.equal({ msg_id: 'p' });
    expect(d.metadata).to.deep.equal({ v: 1 });
    expect(d.content).to.deep.equal({ d: 'x' });
    expect(d.buffers.map((b) => [...b])).to.deep.equal([[8, 7], [122, 122]]);
    expect(frames).to.have.length(9);
    // Without buffers: exactly the delimiter, the signature and four frames after the identities.
    expect(wire.assembleWire(signer, { identities: [], header: h as never, parent: {}, metadata: {}, content: {} })).to.have.length(6);
    // Round trip through the parser.
    const back = wire.parseWire(signer, frames);
    expect(back).to.not.have.property('error');
  });

  it('assembleWire with an empty key writes an empty signature', () => {
    const frames = wire.assembleWire({ key: '', scheme: 'hmac-sha256' }, { identities: [], header: header('x') as never, parent: {}, metadata: {}, content: {} });
    expect(frames[1].toString()).to.equal('');
  });
});

const server = { port: 8123, url: 'http://127.0.0.1:8123', wsUrl: 'ws://127.0.0.1:8123/ws', token: 'tok' } as unknown as WidgetServer;

describe('widget HTML (src/widgets/html.ts)', () => {
  it('escapeHtml escapes the five HTML metacharacters and nothing else', () => {
    expect(html.escapeHtml(`<a href="x">Tom & Jerry's</a>`)).to.equal('&lt;a href=&quot;x&quot;&gt;Tom &amp; Jerry&#39;s&lt;/a&gt;');
    expect(html.escapeHtml('plain text 123 é')).to.equal('plain text 123 é');
    expect(html.escapeHtml('<<&&')).to.equal('&lt;&lt;&amp;&amp;');
  });

  it('dataUrl and svgDataUrl are base64 data URLs (PNG signature bytes → "iVBORw==")', () => {
    expect(html.dataUrl(new Uint8Array([0x89, 0x50, 0x4e, 0x47]))).to.equal('data:image/png;base64,iVBORw==');
    expect(html.svgDataUrl('<svg/>')).to.equal('data:image/svg+xml;base64,PHN2Zy8+');
    // UTF-8: "é" is C3 A9 → "w6k=".
    expect(html.svgDataUrl('é')).to.equal('data:image/svg+xml;base64,w6k=');
  });

  it('svgImage: an <img> with the SVG as data URL, the escaped alt, and the SVG\'s own width when it has one', () => {
    const svg = '<svg xmlns="http://www.w3.org/2000/svg" width="420" height="300"><text>a</text></svg>';
    expect(html.svgImage(svg, 'loss "curve" <1>')).to.equal(`<img class="ganvas-snapshot" alt="loss &quot;curve&quot; &lt;1&gt;" src="data:image/svg+xml;base64,${Buffer.from(svg).toString('base64')}" width="420"/>`);
    const noWidth = '<svg viewBox="0 0 10 10"></svg>';
    expect(html.svgImage(noWidth, 'a')).to.equal(`<img class="ganvas-snapshot" alt="a" src="data:image/svg+xml;base64,${Buffer.from(noWidth).toString('base64')}"/>`);
    // Only the <svg> tag's own width counts, not a child's, and the attribute must be a whole word.
    const childWidth = '<svg viewBox="0 0 1 1"><rect width="5"/></svg>';
    expect(html.svgImage(childWidth, 'a')).to.not.contain(' width=');
    expect(html.svgImage('<svg stroke-width="3" width="12">', 'a')).to.match(/ width="12"\/>$/);
    expect(html.svgImage('<svg data-width="3">', 'a')).to.not.match(/ width="3"/);
    expect(html.svgImage(' <svg width="7">', 'a')).to.not.match(/ width="7"/);
  });

  it('commFallback wraps the snapshot with the widget kind and a note on what the live widget needs', () => {
    const out = html.commFallback('plot', '<img/>');
    expect(out.startsWith('<div class="ganvas-widget" data-ganvas-kind="plot"><img/><div style="font:11px sans-serif;color:#777">')).to.equal(true);
    expect(out).to.contain('Static snapshot: the live plot needs the ganvas-widgets Jupyter extension and the kernel (see README, "Widgets").');
    expect(out.endsWith('</div></div>')).to.equal(true);
  });

  it('widgetBundle is dist/widgets.js, read once', () => {
    const text = readFileSync(path.join(distDir, 'widgets.js'), 'utf8');
    expect(html.widgetBundle()).to.equal(text);
    expect(html.widgetBundle()).to.equal(text);
  });

  it('widgetHtml: the snapshot in a div with a unique id, the bundle, and a mount call with the config; "<" in JSON cannot close the script', () => {
    const out = html.widgetHtml('paint', server, 'w1', '<img src="s"/>', { title: '</script><b>', n: 3 });
    const el = 'ganvas-paint-w1-8123';
    const nl = out.indexOf('\n');
    const div = out.slice(0, nl);
    const script = out.slice(nl + 1);
    expect(div).to.equal(`<div id="${el}" class="ganvas-widget" data-ganvas-kind="paint"><img src="s"/></div>`);
    expect(script.startsWith(`<script>${html.widgetBundle()}`)).to.equal(true);
    const tail = out.slice(out.indexOf(html.widgetBundle()) + html.widgetBundle().length);
    expect(tail.endsWith('</script>')).to.equal(true);
    // The only "</script>" is the closing tag (the title's was escaped as \u003c).
    expect(tail.split('</script>')).to.have.length(2);
    const call = /^\n;\(function\(\)\{var el=document\.getElementById\((".*?")\);if\(el&&window\.ganvasWidgets\)\{window\.ganvasWidgets\.mount\(el,(.*)\);\}\}\)\(\);<\/script>$/s.exec(tail);
    expect(call, tail).to.not.equal(null);
    expect(JSON.parse(call![1])).to.equal(el);
    expect(call![2]).to.not.contain('<');
    expect(JSON.parse(call![2])).to.deep.equal({ title: '</script><b>', n: 3, kind: 'paint', widget: 'w1', ws: 'ws://127.0.0.1:8123/ws', http: 'http://127.0.0.1:8123', token: 'tok' });
    // The config cannot override what the page needs to reach the kernel.
    const forced = html.widgetHtml('plot', server, 'w2', '', { kind: 'x', token: 'forged', ws: 'y', http: 'z', widget: 'q' });
    const cfg = JSON.parse(/mount\(el,(.*)\);\}\}\)\(\);<\/script>$/s.exec(forced)![1]) as Record<string, unknown>;
    expect(cfg).to.deep.equal({ kind: 'plot', widget: 'w2', ws: 'ws://127.0.0.1:8123/ws', http: 'http://127.0.0.1:8123', token: 'tok' });
  });
});
